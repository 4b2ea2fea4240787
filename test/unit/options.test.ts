import { expect } from 'chai'
import fs from 'fs'
import os from 'os'
import path from 'path'
import { envBoolean, DEFAULT_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL } from '../../src/options'
import { resolveOptions } from '../../src/resolve-options'

describe('options', () => {
  it('fills every default', () => {
    const options = resolveOptions({}, {})
    expect(options.timeout).to.equal(DEFAULT_TIMEOUT)
    expect(options.key).to.equal('default')
    expect(options.heartbeatInterval).to.equal(DEFAULT_HEARTBEAT_INTERVAL)
    expect(options.heartbeatTimeout).to.equal(3 * DEFAULT_HEARTBEAT_INTERVAL)
    expect(options.coteDelay).to.equal(0)
    expect(options.publicationDelay).to.equal(0)
    expect(options.publishEvents).to.equal(true)
    // Unset: each service forwards the events it declares (the standard four and its own).
    expect(options.distributedEvents).to.equal(undefined)
    expect(options.distributedMethods).to.deep.equal(['find', 'get', 'create', 'update', 'patch', 'remove'])
    expect(options.healthcheckPath).to.equal('/distribution/healthcheck/')
    expect(options.cote.log).to.equal(false)
  })

  it('keeps timeout: 0', () => {
    expect(resolveOptions({ timeout: 0 }, {}).timeout).to.equal(0)
  })

  it('reads FEATHERS_MESH_STREAMS: on with Poly1305 tags by default, 1.4 for SHA-256 tags at most, 1.3 for SHA3 tags only, off for no streams', () => {
    const pick = (env: Record<string, string>) => {
      const { streams, streamTag } = resolveOptions({}, env)
      return { streams, streamTag }
    }
    expect(pick({})).to.deep.equal({ streams: true, streamTag: 'poly1305' })
    expect(pick({ FEATHERS_MESH_STREAMS: 'on' })).to.deep.equal({ streams: true, streamTag: 'poly1305' })
    expect(pick({ FEATHERS_MESH_STREAMS: '1.4' })).to.deep.equal({ streams: true, streamTag: 'sha256' })
    expect(pick({ FEATHERS_MESH_STREAMS: 'toString' })).to.deep.equal({ streams: true, streamTag: 'poly1305' })
    expect(pick({ FEATHERS_MESH_STREAMS: ' 1.3 ' })).to.deep.equal({ streams: true, streamTag: 'sha3-256' })
    expect(pick({ FEATHERS_MESH_STREAMS: 'off' }).streams).to.equal(false)
  })

  it('reads COTE_LOG=false as off and true as on', () => {
    for (const off of ['false', 'FALSE', '0', 'no', 'off']) expect(envBoolean({ COTE_LOG: off }, 'COTE_LOG')).to.equal(false)
    for (const on of ['true', '1', 'yes']) expect(envBoolean({ COTE_LOG: on }, 'COTE_LOG')).to.equal(true)
    expect(resolveOptions({}, { COTE_LOG: 'false' }).cote.log).to.equal(false)
    expect(resolveOptions({}, { COTE_LOG: 'true' }).cote.log).to.equal(true)
    expect(resolveOptions({ cote: { log: false } }, { COTE_LOG: 'true' }).cote.log).to.equal(false)
  })

  it('reads COTE_DISCOVERY_REDIS_URL and DISCOVERY_HOSTNAME, explicit options winning, and refuses bad values naming them', () => {
    expect(resolveOptions({}, {}).discovery).to.deep.equal({ redis: undefined, advertise: undefined })
    const env = { COTE_DISCOVERY_REDIS_URL: 'redis://redis:6379', DISCOVERY_HOSTNAME: '10.1.2.3' }
    expect(resolveOptions({}, env).discovery).to.deep.equal({ redis: 'redis://redis:6379', advertise: '10.1.2.3' })
    expect(resolveOptions({ discovery: { redis: 'rediss://:pw@other:6380/2' }, advertise: 'todos-0.todos' }, env).discovery).to.deep.equal({
      redis: 'rediss://:pw@other:6380/2',
      advertise: 'todos-0.todos'
    })
    expect(() => resolveOptions({}, { COTE_DISCOVERY_REDIS_URL: 'redis:6379' })).to.throw(TypeError, /COTE_DISCOVERY_REDIS_URL must be a URL/)
    expect(() => resolveOptions({ discovery: { redis: 'http://redis' } })).to.throw(TypeError, /option discovery.redis must be a URL/)
    expect(() => resolveOptions({ discovery: 'redis://x' as any })).to.throw(TypeError, /option discovery must be an object/)
    expect(() => resolveOptions({}, { DISCOVERY_HOSTNAME: 'a b' })).to.throw(TypeError, /DISCOVERY_HOSTNAME must be a host name/)
    expect(() => resolveOptions({ advertise: '' })).to.throw(TypeError, /option advertise must be a host name/)
  })

  it('passes COTE_BROADCAST_ADDRESS to cote as broadcast, an explicit option winning', () => {
    expect(resolveOptions({}, { COTE_BROADCAST_ADDRESS: '127.255.255.255' }).cote.broadcast).to.equal('127.255.255.255')
    expect(resolveOptions({ cote: { broadcast: '10.0.255.255' } }, { COTE_BROADCAST_ADDRESS: '127.255.255.255' }).cote.broadcast).to.equal('10.0.255.255')
  })

  it('reads COTE_DELAY, PUBLICATION_DELAY, HEARTBEAT_INTERVAL, BASE_PORT and HIGHEST_PORT', () => {
    const options = resolveOptions({}, { COTE_DELAY: '100', PUBLICATION_DELAY: '200', HEARTBEAT_INTERVAL: '300', BASE_PORT: '40000', HIGHEST_PORT: '40100' })
    expect(options.coteDelay).to.equal(100)
    expect(options.publicationDelay).to.equal(200)
    expect(options.heartbeatInterval).to.equal(300)
    expect(options.basePort).to.equal(40000)
    expect(options.highestPort).to.equal(40100)
    // A value out of range is reported under the variable it came from.
    // 0 is feathers-distributed's "none": heartbeats cannot be off here, so it takes the default.
    expect(resolveOptions({}, { HEARTBEAT_INTERVAL: '0' })).to.include({ heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL, heartbeatTimeout: 3 * DEFAULT_HEARTBEAT_INTERVAL })
    expect(() => resolveOptions({}, { HEARTBEAT_INTERVAL: '3000000000' })).to.throw(/option heartbeatInterval \(from HEARTBEAT_INTERVAL\) must be a number of milliseconds from 0 to 2147483647/)
    expect(() => resolveOptions({}, { COTE_DELAY: '3000000000' })).to.throw(/option coteDelay \(from COTE_DELAY\)/)
    expect(() => resolveOptions({}, { PUBLICATION_DELAY: '3000000000' })).to.throw(/option publicationDelay \(from PUBLICATION_DELAY\)/)
    expect(resolveOptions({ heartbeatInterval: 0 }, { HEARTBEAT_INTERVAL: '100' }).heartbeatInterval).to.equal(DEFAULT_HEARTBEAT_INTERVAL)
    // HIGHEST_PORT defaults to BASE_PORT + 1000, within the TCP range, and means nothing without BASE_PORT.
    expect(resolveOptions({}, { BASE_PORT: '40000' }).highestPort).to.equal(41000)
    expect(resolveOptions({}, { BASE_PORT: '65000' }).highestPort).to.equal(65535)
    expect(resolveOptions({}, { HIGHEST_PORT: '40100' }).highestPort).to.equal(undefined)
    expect(resolveOptions({}, { HIGHEST_PORT: '70000' }).highestPort).to.equal(undefined)
    expect(resolveOptions({}, { HIGHEST_PORT: 'not a number' }).highestPort).to.equal(undefined)
    expect(resolveOptions({ coteDelay: 5 }, { COTE_DELAY: '100' }).coteDelay).to.equal(5)
    expect(resolveOptions({ publicationDelay: 0 }, { PUBLICATION_DELAY: '200' }).publicationDelay).to.equal(0)
    expect(resolveOptions({ heartbeatInterval: 700 }, { HEARTBEAT_INTERVAL: '300' }).heartbeatInterval).to.equal(700)
    expect(() => resolveOptions({}, { PUBLICATION_DELAY: '-1' })).to.throw(/PUBLICATION_DELAY/)
    expect(() => resolveOptions({}, { HEARTBEAT_INTERVAL: '2.5' })).to.throw(/HEARTBEAT_INTERVAL/)
  })

  it('reads FEATHERS_MESH_SECRET_FILE, one secret per line; the option and FEATHERS_MESH_SECRET win; an unreadable, empty or weak file throws, naming it', () => {
    const [first, second, fromEnv, fromOption] = ['first-file-secret-0123456789', 'second-file-secret-987654321', 'env-secret-0123456789abcdef', 'option-secret-0123456789abc']
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-secret-'))
    const file = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text)
      return path.join(dir, name)
    }
    try {
      // Surrounding blanks, Windows line ends and empty lines (a trailing newline) are not part of any secret.
      const secrets = file('secrets', `  ${first} \r\n\n${second}\n`)
      expect(resolveOptions({}, { FEATHERS_MESH_SECRET_FILE: secrets }).secrets).to.deep.equal([first, second])
      expect(resolveOptions({}, { FEATHERS_MESH_SECRET_FILE: secrets, FEATHERS_MESH_SECRET: fromEnv }).secrets).to.deep.equal([fromEnv])
      expect(resolveOptions({ secret: fromOption }, { FEATHERS_MESH_SECRET_FILE: secrets, FEATHERS_MESH_SECRET: fromEnv }).secrets).to.deep.equal([fromOption])
      expect(() => resolveOptions({}, { FEATHERS_MESH_SECRET_FILE: path.join(dir, 'missing') })).to.throw(/cannot read FEATHERS_MESH_SECRET_FILE \(.*missing\)/)
      expect(() => resolveOptions({}, { FEATHERS_MESH_SECRET_FILE: file('empty', '\n  \n') })).to.throw(/FEATHERS_MESH_SECRET_FILE \(.*empty\) holds no secret/)
      expect(() => resolveOptions({}, { FEATHERS_MESH_SECRET_FILE: file('weak', `${first}\nshort\n`) })).to.throw(/FEATHERS_MESH_SECRET_FILE \(.*weak\) must be strings of at least 16 characters/)
      expect(() => resolveOptions({}, { FEATHERS_MESH_SECRET: 'short' })).to.throw(/FEATHERS_MESH_SECRET must be strings of at least 16/)
      // Set but empty (`"$(cat missing-file)"`): an error, never an open mesh; beside a file variable, the file is used.
      for (const empty of ['', ' \n']) expect(() => resolveOptions({}, { FEATHERS_MESH_SECRET: empty }), JSON.stringify(empty)).to.throw(/FEATHERS_MESH_SECRET is set but empty/)
      expect(() => resolveOptions({}, { FEATHERS_MESH_SECRET_FILE: '' })).to.throw(/FEATHERS_MESH_SECRET_FILE is set but empty/)
      expect(resolveOptions({}, { FEATHERS_MESH_SECRET: '', FEATHERS_MESH_SECRET_FILE: secrets }).secrets).to.deep.equal([first, second])
      expect(resolveOptions({ secret: fromOption }, { FEATHERS_MESH_SECRET: '' }).secrets).to.deep.equal([fromOption])
      // Not trimmed (apps of earlier versions take it as it is): a trailing newline stays part of it.
      expect(resolveOptions({}, { FEATHERS_MESH_SECRET: `${fromEnv}\n` }).secrets).to.deep.equal([`${fromEnv}\n`])
      expect(() => resolveOptions({ secret: [] }, {})).to.throw(/option secret is an empty list/)
      expect(() => resolveOptions({ secret: [first, 'short'] }, {})).to.throw(/option secret must be strings of at least 16/)
      expect(resolveOptions({}, {}).secrets).to.deep.equal([])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names the variable or option in validation errors', () => {
    expect(() => resolveOptions({}, { COTE_DELAY: 'soon' })).to.throw(/COTE_DELAY/)
    expect(() => resolveOptions({}, { BASE_PORT: '5000', HIGHEST_PORT: '4000' })).to.throw(/HIGHEST_PORT/)
    expect(() => resolveOptions({}, { BASE_PORT: '0' })).to.throw(TypeError, /BASE_PORT must be a TCP port \(1-65535\), got 0/)
    expect(() => resolveOptions({}, { BASE_PORT: '70000' })).to.throw(TypeError, /BASE_PORT must be a TCP port/)
    expect(() => resolveOptions({}, { BASE_PORT: '5000', HIGHEST_PORT: '70000' })).to.throw(TypeError, /HIGHEST_PORT must be a TCP port/)
    expect(() => resolveOptions({}, { BASE_PORT: '70000', HIGHEST_PORT: '65535' })).to.throw(TypeError, /BASE_PORT must be a TCP port/)
    // The mesh needs two ports: a range of one cannot work, and is refused at once.
    expect(() => resolveOptions({}, { BASE_PORT: '5000', HIGHEST_PORT: '5000' })).to.throw(TypeError, /must be above BASE_PORT \(5000\): the mesh needs two ports/)
    expect(() => resolveOptions({}, { BASE_PORT: '65535' })).to.throw(TypeError, /the mesh needs two ports/)
    expect(() => resolveOptions({ timeout: -1 }, {})).to.throw(/option timeout/)
    expect(() => resolveOptions({ timeout: '10' as any }, {})).to.throw(/option timeout/)
    // A Node timer cannot wait longer: it would fire after 1 ms.
    for (const name of ['timeout', 'replicaTimeout', 'gracePeriod', 'healthcheckTimeout']) {
      const min = name === 'healthcheckTimeout' ? 1 : 0
      expect(() => resolveOptions({ [name]: 2 ** 31 }, {}), name).to.throw(TypeError, `feathers-mesh: option ${name} must be a number of milliseconds from ${min} to 2147483647, got 2147483648`)
      expect(resolveOptions({ [name]: 2 ** 31 - 1 }, {}) as any, name).to.have.property(name, 2 ** 31 - 1)
    }
    // A healthcheck of 0 ms would have no deadline at all: a frozen replica would hold it until heartbeatTimeout.
    expect(() => resolveOptions({ healthcheckTimeout: 0 }, {})).to.throw(TypeError, 'feathers-mesh: option healthcheckTimeout must be a number of milliseconds from 1 to 2147483647, got 0')
    expect(resolveOptions({ healthcheckTimeout: 1 }, {}).healthcheckTimeout).to.equal(1)
    expect(resolveOptions({ heartbeatInterval: 0 }, {}).heartbeatInterval).to.equal(DEFAULT_HEARTBEAT_INTERVAL)
    expect(resolveOptions({ heartbeatInterval: 0, heartbeatTimeout: 6000 }, {}).heartbeatTimeout).to.equal(6000)
    expect(() => resolveOptions({ heartbeatInterval: 0, heartbeatTimeout: 4000 }, {})).to.throw(TypeError, 'option heartbeatTimeout (4000) must be greater than heartbeatInterval (5000)')
    expect(() => resolveOptions({ heartbeatInterval: 1000, heartbeatTimeout: 500 }, {})).to.throw(/heartbeatTimeout/)
    expect(() => resolveOptions({ services: 'todos' as any }, {})).to.throw(/option services/)
    expect(() => resolveOptions({ remoteServices: [1] as any }, {})).to.throw(/option remoteServices/)
    expect(() => resolveOptions({ remoteServicePath: 'x' as any }, {})).to.throw(/remoteServicePath/)
    expect(() => resolveOptions({ distributedEvents: 'created' as any }, {})).to.throw(/distributedEvents/)
    expect(() => resolveOptions({ key: 'a b' }, {})).to.throw(/option key/)
    expect(() => resolveOptions({ healthcheckPath: 3 as any }, {})).to.throw(/healthcheckPath/)
    // '' means the default, as in feathers-distributed; the root would take over GET / and every single-segment route.
    expect(resolveOptions({ healthcheckPath: '' }, {}).healthcheckPath).to.equal('/distribution/healthcheck/')
    for (const root of ['/', '//']) {
      expect(() => resolveOptions({ healthcheckPath: root }, {})).to.throw(TypeError, `option healthcheckPath must be a path below the root or false ('' for the default), got "${root}"`)
    }
  })

  it('refuses an unknown option, naming the option it most likely stands for', () => {
    expect(() => resolveOptions({ heartbeatIntervall: 1000 } as any, {})).to.throw(TypeError, 'feathers-mesh: unknown option "heartbeatIntervall" (did you mean heartbeatInterval?)')
    expect(() => resolveOptions({ timout: 10 } as any, {})).to.throw(TypeError, /unknown option "timout" \(did you mean timeout\?\)/)
    expect(() => resolveOptions({ remoteservices: ['a'] } as any, {})).to.throw(TypeError, /did you mean remoteServices\?/)
    expect(() => resolveOptions({ secrets: ['x'] } as any, {})).to.throw(TypeError, /unknown option "secrets" \(did you mean secret\?\)/)
    expect(() => resolveOptions({ somethingElse: true } as any, {})).to.throw(TypeError, /^feathers-mesh: unknown option "somethingElse"$/)
    // Undefined values count too: a misspelt name is a mistake whatever it holds.
    expect(() => resolveOptions({ keyy: undefined } as any, {})).to.throw(TypeError, /did you mean key\?/)
    // cote's options and Redis at the top level: where they belong.
    expect(() => resolveOptions({ basePort: 41000 } as any, {})).to.throw(TypeError, /unknown option "basePort" \(did you mean cote\.basePort\?\)/)
    expect(() => resolveOptions({ helloInterval: 1000 } as any, {})).to.throw(TypeError, /did you mean cote\.helloInterval\?/)
    expect(() => resolveOptions({ redis: 'redis://localhost' } as any, {})).to.throw(TypeError, /did you mean discovery\.redis\?/)
  })

  it("accepts feathers-distributed's componentDelay (a number of ms, no effect), and refuses a bad one", () => {
    expect(() => resolveOptions({ componentDelay: 1000 }, {})).not.to.throw()
    expect(() => resolveOptions({ componentDelay: 'soon' as any }, {})).to.throw(TypeError, /option componentDelay/)
  })

  it('refuses a boolean option that is not a boolean: the string "false" would read as on', () => {
    for (const name of ['sync', 'publishEvents', 'statusPage']) {
      expect(() => resolveOptions({ [name]: 'false' } as any, {})).to.throw(TypeError, `feathers-mesh: option ${name} must be true or false, got "false"`)
    }
    expect(resolveOptions({ publishEvents: false, sync: true, statusPage: true }, {})).to.include({ publishEvents: false, sync: true, statusPage: true })
  })

  it('refuses hooks, middlewares, cote, discovery and metricsRegistry of the wrong shape, and shows what it got', () => {
    expect(() => resolveOptions({ hooks: 'authenticate' as any }, {})).to.throw(TypeError, /option hooks must be Feathers hook options/)
    expect(() => resolveOptions({ hooks: (() => undefined) as any }, {})).to.throw(TypeError, /option hooks must be Feathers hook options .*, got a function$/)
    expect(() => resolveOptions({ middlewares: { before: 'cors' } as any }, {})).to.throw(TypeError, /option middlewares must be/)
    expect(() => resolveOptions({ middlewares: { before: [['cors']] } as any }, {})).to.throw(TypeError, /option middlewares must be/)
    expect(() => resolveOptions({ middlewares: { around: () => undefined } as any }, {})).to.throw(TypeError, /option middlewares must be/)
    expect(() => resolveOptions({ cote: 'loopback' as any }, {})).to.throw(TypeError, /option cote must be an object, got "loopback"/)
    expect(() => resolveOptions({ discovery: 'redis://x' as any }, {})).to.throw(TypeError, /option discovery must be an object/)
    expect(() => resolveOptions({ discovery: [] as any }, {})).to.throw(TypeError, /option discovery must be an object/)
    expect(() => resolveOptions({ metricsRegistry: {} as any }, {})).to.throw(TypeError, /option metricsRegistry must be a prom-client Registry/)
    expect(() => resolveOptions({ sync: 1n as any }, {})).to.throw(TypeError, 'feathers-mesh: option sync must be true or false, got 1n')
    const circular: any = {}
    circular.self = circular
    expect(() => resolveOptions({ statusPage: circular }, {})).to.throw(TypeError, /option statusPage must be true or false, got an object that cannot be shown/)
    const middleware = () => undefined
    expect(resolveOptions({ middlewares: { before: middleware, after: [middleware] } }, {}).middlewares).to.deep.equal({ before: [middleware], after: [middleware] })
    // Express takes nested arrays of middleware: they are flattened, as each is wrapped on its own.
    expect(resolveOptions({ middlewares: { before: [[middleware, [middleware]]] } as any }, {}).middlewares.before).to.deep.equal([middleware, middleware])
  })

  it("checks hooks as Feathers' service.hooks() reads them, at configure instead of when a proxy mounts", () => {
    const hook = async () => undefined
    for (const fine of [{ before: { all: [hook] } }, { before: { all: hook, create: [hook] }, after: [hook], error: hook }, { around: { all: [hook] } }, [hook], { find: [hook], create: [hook] }]) {
      expect(() => resolveOptions({ hooks: fine as any }, {}), JSON.stringify(fine)).not.to.throw()
    }
    // A misspelt type beside a right one: Feathers refuses the whole object, so the right one would not register either.
    expect(() => resolveOptions({ hooks: { before: { all: [hook] }, erorr: { all: [hook] } } as any }, {})).to.throw(TypeError, 'feathers-mesh: option hooks has "erorr" beside before: not a hook type (did you mean error?)')
    // A misspelt type alone reads as a method of that name.
    expect(() => resolveOptions({ hooks: { befor: { all: [hook] } } as any }, {})).to.throw(TypeError, /option hooks\.befor looks like a misspelt before/)
    // Alone, and holding an array: read as a map of methods, it would go on no proxy, and leave the gateway open.
    expect(() => resolveOptions({ hooks: { befor: [hook] } as any }, {})).to.throw(TypeError, /option hooks\.befor looks like a misspelt before \(a map of methods holds their around hooks; for a method of that name, use \{ around: \{ befor: \[\.\.\.\] \} \}\)/)
    expect(() => resolveOptions({ hooks: { erorr: [hook] } as any }, {})).to.throw(TypeError, /hooks\.erorr looks like a misspelt error/)
    expect(() => resolveOptions({ hooks: { around: { befor: [hook] } } }, {})).not.to.throw()
    expect(() => resolveOptions({ hooks: { before: { all: ['authenticate'] } } as any }, {})).to.throw(TypeError, /option hooks\.before must be a hook function/)
    // `all` in a map of methods: Feathers refuses it on a service, and left to the proxies it would go unregistered.
    expect(() => resolveOptions({ hooks: { all: [hook] } as any }, {})).to.throw(TypeError, 'feathers-mesh: option hooks.all is not a method: for hooks on every method, use { around: { all: [...] } } or an array of around hooks')
    expect(() => resolveOptions({ hooks: [hook, 'x'] as any }, {})).to.throw(TypeError, /option hooks given as an array must hold around hook functions only/)
    expect(() => resolveOptions({ hooks: { find: hook } as any }, {})).to.throw(TypeError, /option hooks\.find must be an array of around hook functions, got a function/)
  })

  it('reads null as not set, as it did before options were checked', () => {
    const nulls = { cote: null, discovery: null, hooks: null, middlewares: null, metricsRegistry: null, sync: null, publishEvents: null, statusPage: null, timeout: null } as any
    const options = resolveOptions(nulls, {})
    expect(options).to.include({ sync: false, publishEvents: true, statusPage: false, timeout: DEFAULT_TIMEOUT, hooks: undefined })
    expect(options.middlewares).to.deep.equal({ before: [], after: [] })
    // Typed so, and nested too: a null Redis URL leaves discovery on broadcast.
    expect(resolveOptions({ key: null, secret: null, discovery: { redis: null } }, {}).discovery.redis).to.equal(undefined)
    // An unknown name is refused whatever it holds.
    expect(() => resolveOptions({ timout: null } as any, {})).to.throw(TypeError, /unknown option "timout"/)
  })

  it("takes the port range from cote.basePort and cote.highestPort (feathers-distributed's), over BASE_PORT and HIGHEST_PORT, as one pair", () => {
    const both = resolveOptions({ cote: { basePort: 41000, highestPort: 41050 } }, { BASE_PORT: '40000', HIGHEST_PORT: '40100' })
    expect(both).to.include({ basePort: 41000, highestPort: 41050 })
    expect(both.portNames).to.deep.equal(['cote.basePort', 'cote.highestPort'])
    // They are the mesh's, not discovery's: cote does not get them.
    expect(both.cote).not.to.have.any.keys('basePort', 'highestPort')
    // The option wins as a pair: neither variable is read then, not even a bad one.
    expect(resolveOptions({ cote: { basePort: 41000 } }, { HIGHEST_PORT: '40100', BASE_PORT: 'abc' })).to.include({ basePort: 41000, highestPort: 42000 })
    expect(resolveOptions({ cote: { basePort: 41000 } }, {}).portNames).to.deep.equal(['cote.basePort', ''])
    expect(resolveOptions({}, { BASE_PORT: '40000', HIGHEST_PORT: '40100' }).portNames).to.deep.equal(['BASE_PORT', 'HIGHEST_PORT'])
    expect(resolveOptions({}, { BASE_PORT: '40000' }).portNames).to.deep.equal(['BASE_PORT', ''])
    expect(() => resolveOptions({ cote: { highestPort: 41050 } }, {})).to.throw(TypeError, 'feathers-mesh: option cote.highestPort needs cote.basePort')
    expect(() => resolveOptions({ cote: { highestPort: 41050 } }, { BASE_PORT: '40000' })).to.throw(TypeError, 'feathers-mesh: option cote.highestPort needs cote.basePort')
    expect(() => resolveOptions({ cote: { basePort: '41000' } }, {})).to.throw(TypeError, 'feathers-mesh: option cote.basePort must be a TCP port (1-65535), got "41000"')
    expect(() => resolveOptions({ cote: { basePort: 41000, highestPort: 41000 } }, {})).to.throw(TypeError, 'feathers-mesh: option cote.highestPort (41000) must be above option cote.basePort (41000): the mesh needs two ports')
    expect(() => resolveOptions({ cote: { basePort: 65535 } }, {})).to.throw(TypeError, 'feathers-mesh: option cote.basePort + 1000 (65535) must be above option cote.basePort (65535): the mesh needs two ports')
  })

  it('turns path lists into predicates that ignore slashes', () => {
    const options = resolveOptions({ services: ['/a/', 'b'] }, {})
    expect(options.services({ path: 'a', service: {}, options: {} })).to.equal(true)
    expect(options.services({ path: 'c', service: {}, options: {} })).to.equal(false)
  })
})
