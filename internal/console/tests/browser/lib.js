// Shared pieces of the console's browser tests: the server started in its
// embedded default, API calls, selectors, screenshots and the plain-words
// check. run.js holds the main walk-through; every file in scenarios/ is a
// further scenario that run.js runs after it, in name order, each with a
// fresh page in the same browser against the same server.
import { spawn, execFileSync } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import net from 'node:net'
import zlib from 'node:zlib'
import assert from 'node:assert/strict'

export const here = dirname(fileURLToPath(import.meta.url))
export const consoleDir = join(here, '..', '..')
export const repo = join(consoleDir, '..', '..')
export const artifacts = join(consoleDir, 'test-artifacts')
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
export const started = Date.now()

export function log(...a) {
  console.log(`[console-test ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a)
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

/** inp selects the input of a field, whether the data-test sits on it or around it. */
export const inp = (name) => `input[data-test=${name}], [data-test=${name}] input`

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** png makes a small valid PNG of one colour, different for every seed. */
export function png(seed) {
  const crcTable = (buf) => zlib.crc32(buf)
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crcTable(td) >>> 0)
    return Buffer.concat([len, td, crc])
  }
  const w = 8, h = 8
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8
  ihdr[9] = 2
  const row = Buffer.alloc(1 + w * 3)
  for (let x = 0; x < w; x++) row.set([(seed * 37) & 255, (seed * 91 + x) & 255, 200], 1 + x * 3)
  const raw = Buffer.concat(Array.from({ length: h }, () => row))
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

/** chinaTime formats an instant as the date picker reads it (China time). */
export function chinaTime(d) {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(d)
}

export async function startServer(dataDir, port) {
  const bin = join(dataDir, 'louyuan-server')
  log('building the server')
  execFileSync('go', ['build', '-o', bin, './server'], { cwd: repo, stdio: 'inherit' })
  const env = { ...process.env, LOUYUAN_DATA_DIR: join(dataDir, 'data'), LOUYUAN_HTTP_ADDR: `127.0.0.1:${port}` }
  for (const k of Object.keys(env)) if (k.startsWith('LOUYUAN_') && !['LOUYUAN_DATA_DIR', 'LOUYUAN_HTTP_ADDR'].includes(k)) delete env[k]
  const proc = spawn(bin, [], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout.on('data', (d) => (out += d))
  proc.stderr.on('data', (d) => (out += d))
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 120; i++) {
    const login = /staff login: (\S+) \/ (\S+)/.exec(out)
    if (login) {
      try {
        if ((await fetch(base + '/healthz')).ok) return { proc, base, bin, env, user: login[1], password: login[2], output: () => out }
      } catch {
        /* not yet listening */
      }
    }
    if (proc.exitCode !== null) break
    await sleep(250)
  }
  throw new Error('the server did not start:\n' + out)
}

export async function apiCall(base, token, method, path, body) {
  const res = await fetch(base + '/api/v1' + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const json = text ? JSON.parse(text) : null
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return json
}

export async function staffToken(base, user, password) {
  return (await apiCall(base, null, 'POST', '/auth/staff/login', { username: user, password })).access_token
}

/** plain fails when the page shows raw JSON or an error code. */
export async function plain(page, where) {
  const text = await page.locator('body').innerText()
  assert.ok(!/[{[]\s*"/.test(text), `${where}: raw JSON on screen:\n${text}`)
  const code = /\b[a-z]+_[a-z_]+\b/.exec(text)
  assert.ok(!code, `${where}: a code (${code && code[0]}) on screen`)
}

export async function shot(page, name) {
  await page.waitForTimeout(150)
  await page.screenshot({ path: join(artifacts, name + '.png') })
}

