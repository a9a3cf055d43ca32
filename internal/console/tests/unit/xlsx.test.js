// The roster page's XLSX reader shows the file's rows next to the
// server's errors: it must read what Excel, WPS and exceljs write.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import ExcelJS from 'exceljs'
import { readSheet } from '../../src/xlsx.js'

test('reads the first sheet with shared strings, numbers and empty cells, by Excel row number', async () => {
  const wb = new ExcelJS.Workbook()
  const ws = wb.addWorksheet('名册')
  ws.addRow(['楼栋', '单元', '房号', '楼层', '专有面积', '业主姓名'])
  ws.addRow(['1号楼', '1单元', '101', 1, 62.35, '王春芬'])
  ws.getCell('A4').value = '2号楼'
  ws.getCell('F4').value = 'A & B <c>'
  wb.addWorksheet('填写说明').addRow(['不读这一页'])
  const rows = await readSheet(await wb.xlsx.writeBuffer())
  assert.deepEqual(rows.map((r) => r.row), [1, 2, 4])
  assert.deepEqual(rows[0].cells, ['楼栋', '单元', '房号', '楼层', '专有面积', '业主姓名'])
  assert.deepEqual(rows[1].cells, ['1号楼', '1单元', '101', '1', '62.35', '王春芬'])
  assert.deepEqual(rows[2].cells, ['2号楼', '', '', '', '', 'A & B <c>'])
})

test('a file that is not a zip is refused', async () => {
  await assert.rejects(readSheet(new TextEncoder().encode('not a workbook').buffer))
})
