// The API module: tokens, refresh on 401, and errors as Chinese messages.
import { test, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import * as api from '../../src/api.js'

class MemoryStorage {
  constructor() { this.m = new Map() }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null }
  setItem(k, v) { this.m.set(k, String(v)) }
  removeItem(k) { this.m.delete(k) }
}

const json = (status, body) => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

let storage, calls, answers
function server(handler) {
  calls = []
  api.configure({
    storage,
    fetch: async (url, init) => {
      calls.push({ url, method: init.method, auth: init.headers.Authorization, body: init.body })
      return handler(url, init)
    },
  })
}

beforeEach(() => {
  storage = new MemoryStorage()
  answers = []
})

test('login keeps the tokens and who is logged in; calls carry the bearer token', async () => {
  server((url) => {
    if (url.endsWith('/auth/staff/login')) return json(200, { access_token: 'lya_1', refresh_token: 'lyr_1' })
    if (url.endsWith('/me')) return json(200, { kind: 'staff', id: 1, name: '网格员', grants: [] })
    return json(200, { courtyards: [] })
  })
  const me = await api.login('shequ', 'pw')
  assert.equal(me.name, '网格员')
  assert.ok(api.loggedIn())
  await api.myCourtyards()
  assert.equal(calls.at(-1).auth, 'Bearer lya_1')
  assert.equal(calls[0].auth, undefined, 'the login itself sends no token')
})

test('a 401 trades the refresh token once and retries the call', async () => {
  storage.setItem('louyuan.console.session', JSON.stringify({ access_token: 'lya_old', refresh_token: 'lyr_1' }))
  server((url, init) => {
    if (url.endsWith('/auth/refresh')) {
      assert.deepEqual(JSON.parse(init.body), { refresh_token: 'lyr_1' })
      return json(200, { access_token: 'lya_new', refresh_token: 'lyr_2' })
    }
    if (init.headers.Authorization === 'Bearer lya_new') return json(200, { motions: [{ id: 7 }] })
    return json(401, { error: { code: 'token_expired', message: '登录已过期' } })
  })
  const r = await api.motions(1)
  assert.deepEqual(r, { motions: [{ id: 7 }] })
  assert.equal(api.session().refresh_token, 'lyr_2')
  assert.deepEqual(calls.map((c) => c.url.replace('/api/v1', '')), ['/courtyards/1/motions', '/auth/refresh', '/courtyards/1/motions'])
})

test('a refused refresh ends the session and asks to log in again', async () => {
  storage.setItem('louyuan.console.session', JSON.stringify({ access_token: 'lya_old', refresh_token: 'lyr_gone' }))
  server(() => json(401, { error: { code: 'token_invalid', message: '登录已失效' } }))
  let ended = ''
  const off = api.onSessionEnd((why) => (ended = why))
  await assert.rejects(api.motions(1), (e) => e.message === '登录已过期，请重新登录' && e.status === 401)
  off()
  assert.equal(ended, '登录已过期，请重新登录')
  assert.equal(api.loggedIn(), false)
})

test("errors carry the server's Chinese message, never its code or JSON", async () => {
  storage.setItem('louyuan.console.session', JSON.stringify({ access_token: 'lya_1', refresh_token: 'lyr_1' }))
  server((url) => {
    if (url.includes('/courtyards/2/')) return json(403, { error: { code: 'not_in_scope', message: '您无权管理该楼院', request_id: 'x' } })
    if (url.includes('/courtyards/3/')) return new Response('<html>502 Bad Gateway</html>', { status: 502 })
    throw new TypeError('fetch failed')
  })
  await assert.rejects(api.households(2), (e) => e.message === '您无权管理该楼院' && e.code === 'not_in_scope')
  await assert.rejects(api.households(3), (e) => e.message === '服务器暂时无法处理，请稍后重试')
  await assert.rejects(api.households(4), (e) => e.message === '无法连接服务器，请检查网络后重试')
})

test('roster errors keep their rows in details', async () => {
  storage.setItem('louyuan.console.session', JSON.stringify({ access_token: 'lya_1', refresh_token: 'lyr_1' }))
  const details = [{ row: 3, column: '楼层', reason: '楼层必须是1到60之间的整数' }]
  server(() => json(400, { error: { code: 'roster_invalid', message: '名册有错误，整个文件未导入', details } }))
  await assert.rejects(api.importRoster(1, new Blob(['x'])), (e) => e.message === '名册有错误，整个文件未导入' && e.details[0].row === 3)
})

test('file names come from Content-Disposition, RFC 5987 first', () => {
  assert.equal(api.filenameOf(`attachment; filename="results.xlsx"; filename*=UTF-8''%E8%A1%A8%E5%86%B3.xlsx`), '表决.xlsx')
  assert.equal(api.filenameOf('attachment; filename="a.csv"'), 'a.csv')
  assert.equal(api.filenameOf(null), 'download')
})
