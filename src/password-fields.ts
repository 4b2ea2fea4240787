/**
 * The fields that hold a user's password: `password`, and each authentication strategy's
 * `passwordField` (`local: { passwordField: 'pass' }`). Users are stripped of them before they
 * cross the wire, since providers and fellow replicas never need a hash.
 */
const DEFAULT: readonly string[] = ['password']

/** Read at each call that carries a user (a few fields): settings changed in place count at once. */
export function passwordFields(app: { get?(name: string): unknown } | undefined): readonly string[] {
  const settings = app && typeof app.get === 'function' ? app.get('authentication') : undefined
  if (!settings || typeof settings !== 'object') return DEFAULT
  let fields = DEFAULT
  for (const strategy of Object.values(settings)) {
    const field = strategy && typeof strategy === 'object' ? (strategy as { passwordField?: unknown }).passwordField : undefined
    if (typeof field === 'string' && field !== '' && !fields.includes(field)) fields = [...fields, field]
  }
  return fields
}

/** The user as it may travel: its toJSON() form for a model instance (Sequelize, Mongoose), without password fields. */
export function withoutPassword(user: unknown, fields: readonly string[] = DEFAULT): unknown {
  const plain = user && typeof (user as { toJSON?: unknown }).toJSON === 'function' ? (user as { toJSON(): unknown }).toJSON() : user
  if (!plain || typeof plain !== 'object') return plain
  let rest: Record<string, unknown> | undefined
  for (const field of fields) {
    if (!Object.prototype.hasOwnProperty.call(plain, field)) continue
    rest ??= { ...(plain as Record<string, unknown>) }
    delete rest[field]
  }
  return rest ?? plain
}
