#!/usr/bin/env node
/**
 * Compiles src/poly1305.wat into src/poly1305-wasm.ts (the module's bytes, in base64), so that the
 * package needs no compiler at run time. `npm run wasm` writes it; `node scripts/wasm.js --check`
 * exits with 1 when the committed bytes are not those of the text (test/unit/poly1305.test.ts).
 */
const fs = require('fs')
const path = require('path')

const SOURCE = path.join(__dirname, '..', 'src', 'poly1305.wat')
const TARGET = path.join(__dirname, '..', 'src', 'poly1305-wasm.ts')

async function compiled() {
  const wabt = await require('wabt')()
  const module = wabt.parseWat('poly1305.wat', fs.readFileSync(SOURCE, 'utf8'))
  try {
    module.validate()
    return Buffer.from(module.toBinary({}).buffer).toString('base64')
  } finally {
    module.destroy()
  }
}

function render(base64) {
  const lines = base64.match(/.{1,100}/g).map((line) => `  '${line}'`)
  return `// Written by scripts/wasm.js from src/poly1305.wat: run \`npm run wasm\` after changing the text.\nexport const POLY1305_WASM = [\n${lines.join(',\n')}\n].join('')\n`
}

async function main() {
  const text = render(await compiled())
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(TARGET) ? fs.readFileSync(TARGET, 'utf8') : ''
    if (current !== text) {
      console.error('src/poly1305-wasm.ts is not src/poly1305.wat compiled: run `npm run wasm`')
      process.exitCode = 1
    }
    return
  }
  fs.writeFileSync(TARGET, text)
  console.log(`wrote ${path.relative(process.cwd(), TARGET)}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
