import { expect } from 'chai'
import { passwordFields, withoutPassword } from '../../src/password-fields'

describe('password fields of a user', () => {
  const appWith = (authentication: unknown) => ({ get: (name: string) => (name === 'authentication' ? authentication : undefined) })

  it('are password, and each strategy passwordField and entityPasswordField', () => {
    expect(passwordFields(undefined)).to.deep.equal(['password'])
    expect(passwordFields(appWith({ secret: 's', authStrategies: ['jwt', 'local'], local: { usernameField: 'email', passwordField: 'pin', entityPasswordField: 'pinHash' } }))).to.deep.equal(['password', 'pin', 'pinHash'])
  })

  it('a dotted field (a lodash path, as the local strategy reads it) is taken out of the nested object, which is copied, not changed', () => {
    const user = { id: 1, auth: { password: '$2a$10$hash', provider: 'local' }, tags: ['a'] }
    const fields = passwordFields(appWith({ local: { passwordField: 'auth.password' } }))
    expect(withoutPassword(user, fields)).to.deep.equal({ id: 1, auth: { provider: 'local' }, tags: ['a'] })
    expect(user.auth.password).to.equal('$2a$10$hash')
    // A path that is not there leaves the user as it is.
    const plain = { id: 2, auth: 'token' }
    expect(withoutPassword(plain, ['auth.password', 'x.y'])).to.equal(plain)
  })
})
