/**
 * Checks that docker-compose.yml and deploy/kubernetes share (compose.test.ts, kubernetes.test.ts):
 * both must run the compiled example apps, set only the variables example/common.ts lists, and keep
 * the files holding secrets out of git and out of the image's build context.
 */
import fs from 'fs'
import path from 'path'
import { expect } from 'chai'
import { ENV, LIBRARY_ENV } from '../../example/common'

export const ROOT = path.join(__dirname, '..', '..', '..') // build/test/example → repository root
export const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8')

/** The example apps by source folder: `gateway`, and `service` for the todos replicas. */
export type ExampleApp = 'gateway' | 'service'

/** `command` must be `node build/example/<app>/index.js`, compiled from example/<app>/index.ts. */
export function expectExampleCommand(where: string, command: unknown, app: ExampleApp) {
  const entry = `build/example/${app}/index.js`
  expect(command, where).to.deep.equal(['node', entry])
  expect(fs.existsSync(path.join(ROOT, 'example', app, 'index.ts')), `${where} source`).to.equal(true)
  expect(fs.existsSync(path.join(ROOT, entry)), `${where} build output`).to.equal(true)
}

/** Every variable set for an app is one the apps (ENV) or feathers-mesh (LIBRARY_ENV) read. */
export function expectKnownVariables(where: string, variables: string[]) {
  const known = [...Object.keys(ENV), ...Object.keys(LIBRARY_ENV)]
  expect(variables, `${where} sets variables`).to.not.be.empty
  for (const variable of variables) expect(known, `${where} sets ${variable}`).to.include(variable)
}

/** A file created by hand to hold a secret: neither git nor the docker build context may pick it up. */
export function expectSecretFileIgnored(file: string) {
  for (const ignoreFile of ['.gitignore', 'example/Dockerfile.dockerignore']) {
    const lines = read(ignoreFile)
      .split(/\r?\n/)
      .map((line) => line.trim())
    expect(lines, `${file} in ${ignoreFile}`).to.include(path.basename(file))
  }
}
