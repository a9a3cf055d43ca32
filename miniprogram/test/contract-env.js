// The real server for contract tests: the Go server built and started in
// its embedded default (SQLite, in-process Redis, fake WeChat that accepts
// login codes "<user>.<anything>", demo courtyard with invite codes) on a
// free port, and a wx backed by real HTTP per person. useServer() registers
// the jest hooks; call it at the top of a test file.
const fs = require('fs')
const os = require('os')
const net = require('net')
const path = require('path')
const zlib = require('zlib')
const { spawn, execFileSync } = require('child_process')

const REPO = path.join(__dirname, '..', '..')
let server, dir, baseUrl

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
    s.on('error', reject)
  })
}

function useServer() {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'louyuan-contract-'))
    const bin = path.join(dir, 'louyuan-server')
    execFileSync('go', ['build', '-o', bin, './server'], { cwd: REPO, stdio: 'inherit' })
    const port = await freePort()
    baseUrl = `http://127.0.0.1:${port}`
    const log = fs.openSync(path.join(dir, 'server.log'), 'w')
    server = spawn(bin, [], {
      cwd: dir, stdio: ['ignore', log, log],
      env: Object.assign({}, process.env, { LOUYUAN_DATA_DIR: path.join(dir, 'data'), LOUYUAN_HTTP_ADDR: `127.0.0.1:${port}`, LOUYUAN_DEBUG_ADDR: '127.0.0.1:0', LOUYUAN_METRICS_ADDR: '127.0.0.1:0' }),
    })
    for (let i = 0; i < 240; i++) {
      try { if ((await fetch(baseUrl + '/healthz')).ok) return } catch (e) { /* not yet */ }
      await new Promise(r => setTimeout(r, 250))
    }
    throw new Error('server did not start: ' + fs.readFileSync(path.join(dir, 'server.log'), 'utf8'))
  }, 600000)

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise(r => server.once('exit', r))
      server.kill('SIGTERM')
      await Promise.race([exited, new Promise(r => setTimeout(r, 10000))])
    }
    if (dir && !process.env.LOUYUAN_KEEP_CONTRACT_DIR) fs.rmSync(dir, { recursive: true, force: true })
  })
}

// A wx backed by real HTTP, one per person (each has its own storage).
function realWx(user) {
  const storage = new Map()
  let n = 0
  const cb = (o, p) => p.then(r => o.success && o.success(r), e => o.fail && o.fail({ errMsg: String(e) }))
  const parse = async res => {
    const t = await res.text()
    try { return JSON.parse(t) } catch (e) { return t }
  }
  return {
    getStorageSync: k => storage.get(k),
    setStorageSync: (k, v) => storage.set(k, v),
    removeStorageSync: k => storage.delete(k),
    login: o => cb(o, Promise.resolve({ code: `${user}.${Date.now()}.${n++}` })),
    // a share ticket here is "ticket:<group name>"; the fake encrypts that group's openGId
    getShareInfo: o => cb(o, (async () => {
      const fakeUrl = fs.readFileSync(path.join(dir, 'data', 'fake-wechat-url'), 'utf8').trim()
      const res = await fetch(fakeUrl + '/louyuan-fake/share-info', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ handle: user, group: String(o.shareTicket).replace(/^ticket:/, '') }),
      })
      const body = await res.json()
      if (!res.ok) throw new Error(body.errMsg)
      return body
    })()),
    request: o => cb(o, (async () => {
      const res = await fetch(o.url, { method: o.method, headers: o.header, body: o.data === undefined || o.method === 'GET' ? undefined : JSON.stringify(o.data) })
      return { statusCode: res.status, data: await parse(res), header: Object.fromEntries(res.headers) }
    })()),
    uploadFile: o => cb(o, (async () => {
      const form = new FormData()
      Object.entries(o.formData || {}).forEach(([k, v]) => form.append(k, v))
      form.append(o.name, new Blob([fs.readFileSync(o.filePath)], { type: 'image/png' }), path.basename(o.filePath))
      const res = await fetch(o.url, { method: 'POST', headers: o.header, body: form })
      return { statusCode: res.status, data: await res.text() }
    })()),
  }
}

// Each person gets their own instance of utils/api.js and their own wx.
function person(user) {
  const wx = realWx(user)
  let api, share
  jest.isolateModules(() => { api = require('../utils/api'); share = require('../utils/share') })
  api.config = Object.assign({}, api.config, { apiBase: baseUrl })
  return { user, wx, api, share }
}
async function as(p, fn) { global.wx = p.wx; return fn(p.api, p.share) }

// A "hand-drawn" signature: a white 240×80 PNG with a dark wavy stroke.
function signaturePng() {
  const w = 240, h = 80
  const rows = []
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3, 255); row[0] = 0
    for (let x = 10; x < w - 10; x++) {
      const cy = 40 + Math.round(18 * Math.sin(x / 14))
      if (Math.abs(y - cy) <= 2) row.fill(20, 1 + x * 3, 1 + x * 3 + 3)
    }
    rows.push(row)
  }
  const crcTable = Array.from({ length: 256 }, (_, k) => { let c = k; for (let i = 0; i < 8; i++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0 })
  const crc = b => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0 }
  const chunk = (t, d) => { const len = Buffer.alloc(4); len.writeUInt32BE(d.length); const td = Buffer.concat([Buffer.from(t), d]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([len, td, c]) }
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))])
  const file = path.join(dir, 'signature.png')
  fs.writeFileSync(file, png)
  return file
}

const iso = ms => new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z')


// The demo's invite slips: [building, unit, room, code] per household.
function invites() {
  return fs.readFileSync(path.join(dir, 'data', 'demo-invites.tsv'), 'utf8').trim().split('\n').slice(1).map(l => l.split('\t'))
}

// A staff session of the demo's community staff account, for what only
// staff do (the console's part): plain HTTP with its bearer token.
async function staff() {
  const res = await fetch(baseUrl + '/api/v1/auth/staff/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'shequ', password: 'louyuan-demo' }),
  })
  const { access_token: token } = await res.json()
  return async (method, p, body) => {
    const r = await fetch(baseUrl + p, { method, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token }, body: body === undefined ? undefined : JSON.stringify(body) })
    const t = await r.text()
    const data = t ? JSON.parse(t) : null
    if (r.status >= 300) throw new Error(`${method} ${p} → ${r.status} ${t}`)
    return data
  }
}

module.exports = { useServer, person, as, signaturePng, iso, invites, staff, dataDir: () => dir, baseUrl: () => baseUrl }
