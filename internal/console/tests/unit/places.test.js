// Places in the API module and the audit log's words for them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as api from '../../src/api.js'
import { actionWord, detailRows } from '../../src/auditWords.js'

class MemoryStorage {
  constructor() { this.m = new Map([['louyuan.console.session', JSON.stringify({ access_token: 'lya_1' })]]) }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null }
  setItem(k, v) { this.m.set(k, String(v)) }
  removeItem(k) { this.m.delete(k) }
}

test('createPlace and renamePlace name the parent and the place; paged lists send page and filters', async () => {
  const calls = []
  api.configure({
    storage: new MemoryStorage(),
    fetch: async (url, init) => {
      calls.push(`${init.method} ${url.replace('/api/v1', '')} ${init.body || ''}`)
      return new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } })
    },
  })
  await api.createPlace('community', 1, '新社区')
  await api.createPlace('courtyard', 2, '三号院', '新华路 3 号')
  await api.createPlace('building', 3, '5号楼')
  await api.createPlace('unit', 4, '1单元')
  await api.renamePlace('unit', 5, '东单元')
  await api.renamePlace('community', 6, '改名社区')
  await api.householdPage(1, { building_id: 7, q: '', bound: 'yes' }, 2, 20)
  await api.pendingRequests(1, { kind: 'representative' }, 1, 15)
  assert.deepEqual(calls, [
    'POST /subdistricts/1/communities {"name":"新社区"}',
    'POST /communities/2/courtyards {"name":"三号院","address":"新华路 3 号"}',
    'POST /courtyards/3/buildings {"name":"5号楼"}',
    'POST /buildings/4/units {"name":"1单元"}',
    'PUT /units/5 {"name":"东单元"}',
    'PUT /communities/6 {"name":"改名社区"}',
    'GET /courtyards/1/households?building_id=7&bound=yes&page=2&page_size=20 ',
    'GET /courtyards/1/requests?kind=representative&page=1&page_size=15 ',
  ])
  assert.throws(() => api.createPlace('subdistrict', 1, 'x'))
})

test('place changes read as words in the audit log, the parent too', () => {
  assert.equal(actionWord('place.created'), '新建社区、楼院、楼栋或单元')
  assert.equal(actionWord('place.renamed'), '修改名称')
  const rows = detailRows({ level: 'building', name: '5号楼', parent: 'courtyard:1', parent_name: '铝厂小区' })
  assert.deepEqual(rows, [
    { label: '类别', value: '楼栋' },
    { label: '名称', value: '5号楼' },
    { label: '所属', value: '楼院 1 号' },
    { label: '所属名称', value: '铝厂小区' },
  ])
})
