/**
 * docker-compose.yml cannot run here (no Docker), so this checks it against what the example
 * apps actually read: variable names, ports, keys, commands, healthcheck routes, the
 * discovery broadcast address of the compose network and the mesh secret passed as a file.
 */
import fs from 'fs'
import path from 'path'
import { expect } from 'chai'
import { DEFAULT_HEALTHCHECK_PATH } from '../../src'
import { LIBRARY_ENV, READY_PATH } from '../../example/common'
import { parseYaml } from './yaml-subset'
import { ROOT, expectExampleCommand, expectKnownVariables, expectSecretFileIgnored, read } from './deploy-checks'

/** The broadcast address of an IPv4 CIDR block: every host bit set. */
function broadcastOf(cidr: string): string {
  const [address, bits] = cidr.split('/')
  const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0)
  const hostBits = 32 - Number(bits)
  const broadcast = value - (value % 2 ** hostBits) + 2 ** hostBits - 1
  return [24, 16, 8, 0].map((shift) => Math.floor(broadcast / 2 ** shift) % 256).join('.')
}

function healthcheckUrl(service: any): URL {
  const script = service.healthcheck.test.at(-1) as string
  const match = /https?:\/\/[^'"\s]+/.exec(script)
  expect(match, `a URL in the healthcheck of ${JSON.stringify(service.healthcheck.test)}`).to.not.equal(null)
  return new URL(match![0])
}

describe('example: docker-compose.yml', () => {
  const compose: any = parseYaml(read('docker-compose.yml'))
  const services: Record<string, any> = compose.services
  const replicas = Object.entries(services).filter(([name]) => name !== 'gateway')
  const networkName = Object.keys(compose.networks)[0]

  it('has a gateway and two replicas, built from example/Dockerfile at the root', () => {
    expect(Object.keys(services)).to.have.members(['gateway', 'replica1', 'replica2'])
    for (const [name, service] of Object.entries(services)) {
      expect(service.build, name).to.deep.equal({ context: '.', dockerfile: 'example/Dockerfile' })
      expect(service.restart, name).to.be.a('string').and.not.equal('no')
    }
    expect(fs.existsSync(path.join(ROOT, 'example', 'Dockerfile'))).to.equal(true)
  })

  it('runs the built example apps: each command names a compiled example entry point', () => {
    for (const [name, service] of Object.entries(services)) expectExampleCommand(name, service.command, name === 'gateway' ? 'gateway' : 'service')
  })

  it('sets only variables the apps or feathers-mesh read, and the apps read the environment only through example/common.ts', () => {
    for (const [name, service] of Object.entries(services)) expectKnownVariables(name, Object.keys(service.environment))
    for (const file of ['example/gateway/index.ts', 'example/service/index.ts']) expect(read(file), file).to.not.match(/process\.env/)
    // LIBRARY_ENV is what distribution() reads on its own: each name must really be read there.
    const library = fs.readdirSync(path.join(ROOT, 'src')).map((file) => read(path.join('src', file))).join('\n')
    for (const variable of Object.keys(LIBRARY_ENV)) expect(library, `src/ reads ${variable}`).to.match(new RegExp(`env(\\.${variable}\\b|\\[['"]${variable}['"]\\])`))
  })

  it('seals the mesh with a secret read from a file mounted as a compose secret, never a literal', () => {
    const secrets = compose.secrets as Record<string, any>
    expect(Object.keys(secrets)).to.deep.equal(['mesh_secret'])
    const file = secrets.mesh_secret.file as string
    expect(file).to.equal('./mesh-secret.txt')
    for (const [name, service] of Object.entries(services)) {
      expect(service.secrets, name).to.deep.equal(['mesh_secret'])
      expect(service.environment.FEATHERS_MESH_SECRET_FILE, name).to.equal('/run/secrets/mesh_secret')
      expect(service.environment.FEATHERS_MESH_SECRET, `${name} has no literal secret`).to.equal(undefined)
    }
    // The file is created by hand (documented in the compose file), never committed nor sent to the build.
    expectSecretFileIgnored(file)
    expect(read('docker-compose.yml')).to.include(`openssl rand -base64 32 > ${path.basename(file)}`)
  })

  it('gives the gateway and the replicas their keys, and each app its own port and name', () => {
    expect(services.gateway.environment.MESH_KEY).to.equal('gateway')
    expect(replicas.map(([, service]) => service.environment.MESH_KEY)).to.deep.equal(['todos', 'todos'])
    const names = replicas.map(([, service]) => service.environment.REPLICA)
    expect(new Set(names).size, 'unique REPLICA names').to.equal(replicas.length)
    const ports = Object.values(services).map((service) => service.environment.PORT)
    for (const port of ports) expect(Number.isInteger(Number(port)), `PORT ${port}`).to.equal(true)
    expect(new Set(ports).size, 'unique PORTs').to.equal(ports.length)
    // Published on the host's loopback only: the demo user and the open metrics stay on the host.
    expect(services.gateway.ports).to.deep.equal([`127.0.0.1:${services.gateway.environment.PORT}:${services.gateway.environment.PORT}`])
    for (const [name, service] of replicas) expect(service.ports, `${name} is reached through the gateway only`).to.equal(undefined)
  })

  it('pins discovery to the broadcast address of the compose network, on one UDP port', () => {
    const subnet = compose.networks[networkName].ipam.config[0].subnet
    for (const [name, service] of Object.entries(services)) {
      expect(service.networks, name).to.deep.equal([networkName])
      expect(service.environment.COTE_BROADCAST_ADDRESS, name).to.equal(broadcastOf(subnet))
    }
    const cotePorts = new Set(Object.values(services).map((service) => service.environment.COTE_PORT))
    expect(cotePorts.size, 'one discovery port').to.equal(1)
  })

  it("checks the gateway through the mesh healthcheck of the replicas' key, and each replica on its own", () => {
    const gateway = healthcheckUrl(services.gateway)
    expect(gateway.port).to.equal(services.gateway.environment.PORT)
    expect(gateway.pathname).to.equal(`${DEFAULT_HEALTHCHECK_PATH}${replicas[0][1].environment.MESH_KEY}`)
    for (const [name, service] of replicas) {
      const url = healthcheckUrl(service)
      expect(url.port, name).to.equal(service.environment.PORT)
      expect(url.pathname, name).to.equal(READY_PATH)
    }
  })
})

describe('example: the YAML subset parser', () => {
  it('reads mappings, sequences of scalars and of mappings, and quoted scalars', () => {
    const source = ['# comment', 'a:', '  b: "x: y"', '  c:', '    - one', "    - 'it''s'", '  d:', '    - e: 1', '      f: two # note', 'g:']
    expect(parseYaml(source.join('\n'))).to.deep.equal({ a: { b: 'x: y', c: ['one', "it's"], d: [{ e: '1', f: 'two' }] }, g: null })
  })

  it('refuses what it does not support, naming the line', () => {
    expect(() => parseYaml('a: [1, 2]')).to.throw(/line 1/)
    expect(() => parseYaml('a: &anchor x')).to.throw(/line 1/)
    expect(() => parseYaml('a:\n  b: 1\n c: 2')).to.throw(/line 3/)
    expect(() => parseYaml('a: 1\na: 2')).to.throw(/duplicate/)
  })
})
