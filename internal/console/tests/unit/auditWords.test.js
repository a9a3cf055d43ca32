// The audit page's words: no identifier reaches the screen as it is stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { actionWord, refWord, detailRows } from '../../src/auditWords.js'

test('actions, principals and objects in words', () => {
  assert.equal(actionWord('motion.publish'), '发布公示')
  assert.equal(actionWord('delivery.sent'), '微信消息已送达')
  assert.equal(actionWord('motion.something_new'), '表决事项（其他操作）')
  assert.equal(actionWord('zzz'), '其他操作')
  assert.equal(refWord('staff:1'), '工作人员 1 号')
  assert.equal(refWord('motion:3'), '表决 3 号')
  assert.equal(refWord('system'), '系统')
  assert.equal(refWord('file:paper_ballot-abc.png'), '文件')
  assert.equal(refWord('weird:1'), '—')
})

test('details: known keys and values in words, files and identifiers never shown raw', () => {
  const rows = detailRows({ household: 3, options: ['agree'], photo: 'paper_ballot-e3cb.png', role: 'tenant', kind_x: 'some_internal_code', ok: true })
  assert.deepEqual(rows, [
    { label: '房屋编号', value: '3' },
    { label: '选项', value: '同意' },
    { label: '照片', value: '已附文件' },
    { label: '身份', value: '租户' },
    { label: '其他信息', value: '（内部标识）' },
    { label: '其他信息', value: '是' },
  ])
})
