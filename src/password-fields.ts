/**
 * The fields that hold a user's password: `password`, and each authentication strategy's
 * `passwordField` and `entityPasswordField` (`local: { passwordField: 'pass' }`; dotted paths reach
 * nested objects, as the local strategy reads them). Users are stripped of them before they cross
 * the wire, since providers and fellow replicas never need a hash.
 */
const DEFAULT: readonly string[] = ['password']

/** Read at each call that carries a user (a few fields): settings changed in place count at once. */
export function passwordFields(app: { get?(name: string): unknown } | undefined): readonly string[] {
  const settings = app && typeof app.get === 'function' ? app.get('authentication') : undefined
  if (!settings || typeof settings !== 'object') return DEFAULT
  let fields = DEFAULT
  for (const strategy of Object.values(settings)) {
    if (!strategy || typeof strategy !== 'object') continue
    // The local strategy reads the hash from `entityPasswordField` (a lodash path), `passwordField` by default.
    for (const name of ['passwordField', 'entityPasswordField'] as const) {
      const field = (strategy as Record<string, unknown>)[name]
      if (typeof field === 'string' && field !== '' && !fields.includes(field)) fields = [...fields, field]
    }
  }
  return fields
}

/** The user as it may travel: its toJSON() form for a model instance (Sequelize, Mongoose), without password fields (dotted paths reach nested ones). */
export function withoutPassword(user: unknown, fields: readonly string[] = DEFAULT): unknown {
  const plain = user && typeof (user as { toJSON?: unknown }).toJSON === 'function' ? (user as { toJSON(): unknown }).toJSON() : user
  if (!plain || typeof plain !== 'object') return plain
  let rest = plain as Record<string, unknown>
  for (const field of fields) rest = without(rest, field.split('.'))
  return rest
}

/** `value` without the field at `path`, copied along the path only where it has one (never changed in place). */
function without(value: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const [head, ...tail] = path
  if (!Object.prototype.hasOwnProperty.call(value, head)) return value
  if (tail.length === 0) {
    const copy = { ...value }
    delete copy[head]
    return copy
  }
  const inner = value[head]
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) return value
  const stripped = without(inner as Record<string, unknown>, tail)
  return stripped === inner ? value : { ...value, [head]: stripped }
}
