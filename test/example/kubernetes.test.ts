/**
 * deploy/kubernetes cannot be applied here (no cluster), so this checks its manifests the way
 * compose.test.ts checks docker-compose.yml, against what the example apps serve and read: image
 * and commands, ports, variables, the Secrets behind the mesh secret and JWT_SECRET, discovery
 * through the redis Service, probe routes, and a kustomization that applies every manifest.
 */
import fs from 'fs'
import path from 'path'
import { expect } from 'chai'
import { parseAllDocuments } from 'yaml'
import { DEFAULT_HEALTHCHECK_PATH } from '../../src'
import { LIVE_PATH, READY_PATH } from '../../example/common'
import { ROOT, expectExampleCommand, expectKnownVariables, expectSecretFileIgnored, read } from './deploy-checks'
import type { ExampleApp } from './deploy-checks'

const DIR = 'deploy/kubernetes'
/** Where the image build and the Secrets are documented. */
const DOCS = ['README.md', `${DIR}/kustomization.yaml`]
/** Each app Deployment, named after its mesh key, and the example app it runs. */
const APPS: Record<string, ExampleApp> = { gateway: 'gateway', todos: 'service' }
/** The gateway's own page (example/public/index.html): it answers whatever the other pods do. */
const PAGE_PATH = '/'

interface Resource {
  kind: string
  metadata: { name: string }
  spec: any
  [field: string]: any
}
interface EnvVar {
  name: string
  value?: unknown
  valueFrom?: any
}

/** Every document of a manifest, read as YAML 1.1 like kubectl does (there `0440` is octal and `no` false). */
function load(file: string): Resource[] {
  const documents = parseAllDocuments(read(path.join(DIR, file)), { version: '1.1' })
  expect(documents.length, `${file} holds documents`).to.be.above(0)
  return documents.map((document) => {
    expect(document.errors.map(String), `${file} parses`).to.deep.equal([])
    return document.toJS()
  })
}

const byName = (resources: Resource[], kind: string): Record<string, Resource> =>
  Object.fromEntries(resources.filter((resource) => resource.kind === kind).map((resource) => [resource.metadata.name, resource]))
const container = (deployment: Resource) => deployment.spec.template.spec.containers[0]
const variable = (deployment: Resource, name: string): EnvVar | undefined => container(deployment).env.find((entry: EnvVar) => entry.name === name)
const value = (deployment: Resource, name: string) => variable(deployment, name)?.value as string

/** A Service's or probe's port (a number, or the name of a container port) as the container port it reaches. */
function containerPort(deployment: Resource, port: number | string): number {
  if (typeof port === 'number') return port
  const named = container(deployment).ports.find((entry: any) => entry.name === port)
  expect(named, `${deployment.metadata.name} has a port named ${port}`).to.not.equal(undefined)
  return named.containerPort
}

/** `kubectl create secret generic NAME --from-file=KEY=FILE…` in a doc, as `NAME/KEY` → FILE. */
function documentedSecrets(doc: string): Record<string, string> {
  const found: Record<string, string> = {}
  for (const [, name, sources] of doc.matchAll(/kubectl create secret generic (\S+)((?:\s+--from-file=\S+)+)/g)) {
    for (const [, source] of sources.matchAll(/--from-file=(\S+)/g)) {
      const [key, file] = source.includes('=') ? source.split('=') : [path.basename(source), source]
      found[`${name}/${key}`] = file
    }
  }
  return found
}

describe('example: deploy/kubernetes', () => {
  const files = fs.readdirSync(path.join(ROOT, DIR)).filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml')
  const kustomization: any = load('kustomization.yaml')[0]
  const resources = files.flatMap(load)
  const deployments = byName(resources, 'Deployment')
  const services = byName(resources, 'Service')
  const apps = Object.keys(APPS).map((name) => deployments[name])

  /** `NAME/KEY` of the Secret each app mounts as its mesh secret file. */
  function meshSecret(deployment: Resource): string {
    const name = deployment.metadata.name
    const file = value(deployment, 'FEATHERS_MESH_SECRET_FILE')
    expect(file, `${name} FEATHERS_MESH_SECRET_FILE`).to.be.a('string')
    const mount = container(deployment).volumeMounts.find((entry: any) => file.startsWith(`${entry.mountPath}/`))
    expect(mount, `${name} mounts a volume at ${file}`).to.not.equal(undefined)
    expect(mount.readOnly, `${name} mounts it read-only`).to.equal(true)
    const { secret } = deployment.spec.template.spec.volumes.find((entry: any) => entry.name === mount.name)
    const item = secret.items.find((entry: any) => path.posix.join(mount.mountPath, entry.path) === file)
    expect(item, `${name}: a key of Secret ${secret.secretName} lands at ${file}`).to.not.equal(undefined)
    // The image runs as `node`, not root: the file's group (fsGroup) may read it, others may not.
    const mode = item.mode ?? secret.defaultMode ?? 0o644
    expect(mode & 0o047, `${name}: mode ${mode.toString(8)}`).to.equal(0o040)
    expect(deployment.spec.template.spec.securityContext.fsGroup, `${name} fsGroup`).to.be.a('number')
    return `${secret.secretName}/${item.key}`
  }

  it('applies every manifest of the folder through kustomization.yaml, and commits no Secret', () => {
    expect(kustomization.kind).to.equal('Kustomization')
    expect(kustomization.resources).to.have.members(files)
    const ids = resources.map((resource) => `${resource.kind}/${resource.metadata.name}`)
    expect(new Set(ids).size, `unique resources: ${ids}`).to.equal(ids.length)
    expect(resources.map((resource) => resource.kind)).to.not.include('Secret')
    expect(kustomization.secretGenerator, 'no generated Secret').to.equal(undefined)
  })

  it('runs Redis, one gateway and two todos replicas, each Service selecting the pods of its Deployment', () => {
    expect(Object.keys(deployments)).to.have.members(['redis', 'gateway', 'todos'])
    expect(Object.keys(services), 'todos needs no Service: the mesh reaches its pods').to.have.members(['redis', 'gateway'])
    expect([deployments.redis, ...apps].map((deployment) => deployment.spec.replicas)).to.deep.equal([1, 1, 2])
    const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([label, text]) => labels[label] === text)
    for (const [name, deployment] of Object.entries(deployments)) {
      expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels), `${name} selects its own pods`).to.equal(true)
    }
    for (const [name, service] of Object.entries(services)) {
      const selected = Object.values(deployments).filter((deployment) => matches(service.spec.selector, deployment.spec.template.metadata.labels))
      expect(selected.map((deployment) => deployment.metadata.name), `Service ${name} selects`).to.deep.equal([name])
      const ports = container(selected[0]).ports.map((entry: any) => entry.containerPort)
      for (const port of service.spec.ports) expect(ports, `Service ${name} port ${port.port}`).to.include(containerPort(selected[0], port.targetPort ?? port.port))
    }
    expect(services.gateway.spec.ports.map((port: any) => String(port.port)), 'the gateway is served on its PORT').to.deep.equal([value(deployments.gateway, 'PORT')])
  })

  it('runs one image, built from example/Dockerfile as the docs say, with the commands of docker-compose.yml', () => {
    const images = new Set(apps.map((deployment) => container(deployment).image))
    expect(images.size, `one image: ${[...images]}`).to.equal(1)
    for (const doc of DOCS) {
      const build = /docker build -f (\S+) -t (\S+) \.(?:\s|$)/.exec(read(doc))
      expect(build, `${doc} says how to build the image`).to.not.equal(null)
      expect(build![1], doc).to.equal('example/Dockerfile')
      expect(fs.existsSync(path.join(ROOT, build![1])), build![1]).to.equal(true)
      expect(build![2], `${doc} tags the image the manifests run`).to.equal([...images][0])
    }
    for (const [name, app] of Object.entries(APPS)) {
      const main = container(deployments[name])
      expect(main.imagePullPolicy, name).to.equal('IfNotPresent')
      expect(main.command, `${name} keeps the image's entrypoint, as compose does`).to.equal(undefined)
      expectExampleCommand(name, main.args, app)
    }
  })

  it('serves HTTP on PORT, and sets only variables the apps or feathers-mesh read, as strings or from a source', () => {
    for (const deployment of apps) {
      const name = deployment.metadata.name
      const env: EnvVar[] = container(deployment).env
      expectKnownVariables(name, env.map((entry) => entry.name))
      expect(new Set(env.map((entry) => entry.name)).size, `${name}: each variable once`).to.equal(env.length)
      for (const entry of env) {
        expect((entry.value === undefined) !== (entry.valueFrom === undefined), `${name} ${entry.name}: value or valueFrom`).to.equal(true)
        if (entry.valueFrom === undefined) expect(entry.value, `${name} ${entry.name}: Kubernetes takes strings only`).to.be.a('string')
      }
      expect(value(deployment, 'MESH_KEY'), `${name} mesh key`).to.equal(name)
      const ports = container(deployment).ports.map((entry: any) => entry.containerPort)
      expect(ports, `${name} container ports`).to.deep.equal([Number(value(deployment, 'PORT'))])
      expect(variable(deployment, 'COTE_BROADCAST_ADDRESS'), `${name}: discovery runs on Redis, not broadcast`).to.equal(undefined)
    }
    expect(variable(deployments.todos, 'REPLICA')?.valueFrom, 'each replica is named after its pod').to.deep.equal({ fieldRef: { fieldPath: 'metadata.name' } })
  })

  it('reads one mesh secret from a Secret volume through FEATHERS_MESH_SECRET_FILE, never from a literal', () => {
    for (const deployment of apps) expect(variable(deployment, 'FEATHERS_MESH_SECRET'), deployment.metadata.name).to.equal(undefined)
    expect(new Set(apps.map(meshSecret)).size, 'one mesh secret').to.equal(1)
  })

  it('takes JWT_SECRET from a Secret, and both Secrets are created as the docs say, from files kept out of git', () => {
    const jwt = variable(deployments.gateway, 'JWT_SECRET')?.valueFrom?.secretKeyRef
    expect(jwt, 'the gateway reads JWT_SECRET from a Secret').to.not.equal(undefined)
    expect(variable(deployments.todos, 'JWT_SECRET'), 'the replicas need no JWT_SECRET').to.equal(undefined)
    const used = [meshSecret(deployments.gateway), `${jwt.name}/${jwt.key}`]
    for (const doc of DOCS) {
      const documented = documentedSecrets(read(doc))
      expect(Object.keys(documented), `${doc} creates the Secrets`).to.have.members(used)
      for (const file of Object.values(documented)) {
        expectSecretFileIgnored(file)
        expect(read(doc), `${doc} says how to fill ${file}`).to.include(`openssl rand -base64 32 > ${file}`)
      }
    }
  })

  it('discovers through the redis Service, each app announcing its pod IP', () => {
    const [port] = services.redis.spec.ports
    expect(port.port, 'the redis Service port').to.equal(6379)
    expect(containerPort(deployments.redis, port.targetPort ?? port.port), "Redis' own port").to.equal(6379)
    for (const deployment of apps) {
      const name = deployment.metadata.name
      const url = new URL(value(deployment, 'COTE_DISCOVERY_REDIS_URL'))
      expect([url.protocol, url.hostname, Number(url.port)], `${name} COTE_DISCOVERY_REDIS_URL`).to.deep.equal(['redis:', services.redis.metadata.name, port.port])
      expect(variable(deployment, 'DISCOVERY_HOSTNAME')?.valueFrom, `${name} DISCOVERY_HOSTNAME`).to.deep.equal({ fieldRef: { fieldPath: 'status.podIP' } })
    }
  })

  it("probes the gateway's readiness through the mesh healthcheck of todos, and everything else on routes that depend on the app alone", () => {
    const probe = (deployment: Resource, kind: string) => {
      const { httpGet } = container(deployment)[kind] ?? {}
      expect(httpGet, `${deployment.metadata.name} ${kind} over HTTP`).to.not.equal(undefined)
      return { path: httpGet.path, port: containerPort(deployment, httpGet.port) }
    }
    const own = (deployment: Resource, route: string) => ({ path: route, port: Number(value(deployment, 'PORT')) })
    const { gateway, todos } = deployments
    expect(probe(gateway, 'readinessProbe'), 'gateway readiness').to.deep.equal(own(gateway, `${DEFAULT_HEALTHCHECK_PATH}${value(todos, 'MESH_KEY')}`))
    expect(probe(gateway, 'livenessProbe'), 'gateway liveness').to.deep.equal(own(gateway, PAGE_PATH))
    expect(fs.existsSync(path.join(ROOT, 'example', 'public', 'index.html')), 'the page the gateway serves at /').to.equal(true)
    // Readiness needs discovery up; liveness does not, or a Redis outage would restart every replica.
    expect(probe(todos, 'readinessProbe'), 'todos readinessProbe').to.deep.equal(own(todos, READY_PATH))
    expect(probe(todos, 'livenessProbe'), 'todos livenessProbe').to.deep.equal(own(todos, LIVE_PATH))
  })
})
