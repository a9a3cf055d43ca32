// The API module's staff pieces: a changed password continues on the
// server's fresh tokens; exports ask for full phones only when told to;
// capabilities come from the server's /me.
import { test, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import * as api from '../../src/api.js'

class MemoryStorage {
  constructor() { this.m = new Map() }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null }
  setItem(k, v) { this.m.set(k, String(v)) }
  removeItem(k) { this.m.delete(k) }
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
let storage, calls

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
  storage.setItem('louyuan.console.session', JSON.stringify({ access_token: 'lya_1', refresh_token: 'lyr_1', me: { name: '网格员', capabilities: { full_phone_communities: [2], staff_list: true } } }))
  api.configure({ storage })
})

test('a changed password continues on the fresh token pair and keeps who is logged in', async () => {
  server((url, init) => {
    assert.ok(url.endsWith('/me/password'))
    assert.deepEqual(JSON.parse(init.body), { old_password: 'old-password', new_password: 'new-password-1' })
    return json(200, { access_token: 'lya_2', refresh_token: 'lyr_2' })
  })
  await api.changePassword('old-password', 'new-password-1')
  const s = api.session()
  assert.equal(s.access_token, 'lya_2')
  assert.equal(s.refresh_token, 'lyr_2')
  assert.equal(s.me.name, '网格员')
})

test('a wrong old password is the server message, and the session stays', async () => {
  server(() => json(400, { error: { code: 'wrong_old_password', message: '原密码不正确，还可以再试4次，之后账号将暂时锁定' } }))
  await assert.rejects(api.changePassword('nope', 'new-password-1'), (e) => e.message.startsWith('原密码不正确') && e.status === 400)
  assert.equal(api.session().access_token, 'lya_1')
})

test('exports ask for full phones only when told to', async () => {
  server(() => new Response('x', { status: 200, headers: { 'Content-Disposition': 'attachment; filename="a.xlsx"' } }))
  await api.exportSignatures(7, 'xlsx', undefined, 'full')
  await api.exportSignatures(7, 'csv', 'signed', 'masked')
  await api.exportResults(8, 'xlsx')
  await api.exportResults(8, 'csv', 'full')
  assert.deepEqual(calls.map((c) => c.url), [
    '/api/v1/petitions/7/export.xlsx?phones=full',
    '/api/v1/petitions/7/export.csv?list=signed',
    '/api/v1/motions/8/results.xlsx',
    '/api/v1/motions/8/results.csv?phones=full',
  ])
})

test('capabilities are the server\'s, and none when logged out', async () => {
  assert.deepEqual(api.capabilities().full_phone_communities, [2])
  storage.removeItem('louyuan.console.session')
  assert.deepEqual(api.capabilities(), { full_phone_communities: [], staff_list: false, manage_staff: false, change_password: false })
})

test('the audit words name staff changes and roles in Chinese', async () => {
  const { actionWord, detailRows } = await import('../../src/auditWords.js')
  assert.equal(actionWord('role.revoke'), '撤销授权')
  assert.equal(actionWord('staff.password_changed'), '修改密码')
  const rows = detailRows({ role: 'phone_viewer', scope_type: 'community', scope_id: 1, other_sessions_ended: true })
  assert.deepEqual(rows.map((r) => r.value), ['导出完整手机号', '社区', '1', '是'])
})
