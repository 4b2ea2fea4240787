/**
 * The fields that hold a user's password: `password`, and each authentication strategy's
 * `passwordField` (`local: { passwordField: 'pass' }`). Users are stripped of them before they
 * cross the wire, since providers and fellow replicas never need a hash.
 */
const cache = new WeakMap<object, { settings: unknown; fields: readonly string[] }>()
const DEFAULT: readonly string[] = ['password']

export function passwordFields(app: { get?(name: string): unknown } | undefined): readonly string[] {
  if (!app || typeof app.get !== 'function') return DEFAULT
  const settings = app.get('authentication')
  const cached = cache.get(app)
  // Read again only when the settings object changes: this runs on every call that carries a user.
  if (cached && cached.settings === settings) return cached.fields
  const fields = new Set(DEFAULT)
  if (settings && typeof settings === 'object') {
    for (const strategy of Object.values(settings)) {
      const field = strategy && typeof strategy === 'object' ? (strategy as { passwordField?: unknown }).passwordField : undefined
      if (typeof field === 'string' && field !== '') fields.add(field)
    }
  }
  const entry = { settings, fields: [...fields] }
  cache.set(app, entry)
  return entry.fields
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
