// Places, households paged on the server, a household's members and invite
// slips (issue #12 items 2, 3 and 9): the demo staff member creates a
// building and a unit and renames them, is refused a sibling's name and
// another community's places, pages through a filtered household list
// whose numbers match the API, and prints invite slips for one building,
// one of whose codes then binds a household.
import assert from 'node:assert/strict'
import { log, inp, apiCall, plain, shot } from '../lib.js'

async function login(page, url, srv) {
  await page.goto(url('/login'))
  await page.fill(inp('username'), srv.user)
  await page.fill(inp('password'), srv.password)
  await page.click('[data-test=login-submit]')
  await page.waitForURL(/\/console\/places/)
}

/** row is the tree row of a place (its own line, not its children's). */
const row = (page, name) => page.locator('[data-test=places-tree] .el-tree-node__content', { hasText: name }).first()

async function placeDialog(page, name) {
  const d = page.locator('.el-dialog', { has: page.locator('[data-test=place-name]') })
  await d.waitFor()
  await d.locator('[data-test=place-name] input, input[data-test=place-name]').first().fill(name)
  await d.locator('[data-test=place-submit]').click()
  return d
}

async function choose(page, select, option) {
  await page.locator(`[data-test=${select}]`).click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: option }).first().click()
}

async function tableTotal(page) {
  const t = await page.locator('[data-test=households] .el-pagination__total').innerText()
  return Number(/(\d+)/.exec(t)[1])
}

export async function run({ page, url, srv, base, staff, otherYard, otherCommunity, wechat }) {
  await login(page, url, srv)
  const tree = page.locator('[data-test=places-tree]')
  await tree.getByText('铝厂小区').waitFor()

  // --- What the server says this staff member may do: buildings yes, communities no.
  log('places: create and rename')
  assert.equal(await row(page, '新华路街道').locator('[data-test=add-community]').count(), 0, 'community staff offered to create a community')
  assert.equal(await row(page, '桐本北路社区').locator('[data-test=rename]').count(), 0, 'community staff offered to rename their community')
  assert.equal(await tree.getByText('光明社区').count(), 0, 'another community in the tree')

  await row(page, '铝厂小区').locator('[data-test=add-building]').click()
  await placeDialog(page, ' 5号楼 ')
  await page.locator('.el-message').getByText('已新建楼栋“5号楼”').waitFor()
  await row(page, '5号楼').waitFor()
  await row(page, '5号楼').locator('[data-test=add-unit]').click()
  await placeDialog(page, '1单元')
  await page.locator('.el-message').getByText('已新建单元“1单元”').waitFor()
  // The new unit is the 1单元 under 5号楼: open the building and rename it.
  const b5 = (await apiCall(base, staff, 'GET', '/courtyards/1/buildings')).buildings.find((b) => b.name === '5号楼')
  assert.ok(b5 && b5.units.length === 1, 'the new building and unit are not in the API')
  await tree.locator('.el-tree-node__content', { has: page.locator(`[data-test=node-b${b5.id}]`) }).locator('.el-tree-node__expand-icon').click()
  await page.locator(`[data-test=node-u${b5.units[0].id}] [data-test=rename]`).click()
  await placeDialog(page, '东单元')
  await page.locator('.el-message').getByText('名称已修改').first().waitFor()
  await page.locator(`[data-test=node-u${b5.units[0].id}]`).getByText('东单元').waitFor()
  await row(page, '5号楼').locator('[data-test=rename]').click()
  await placeDialog(page, '5号楼（新）')
  await row(page, '5号楼（新）').waitFor()

  // A sibling's name: the server's words in the dialog.
  await row(page, '铝厂小区').locator('[data-test=add-building]').click()
  const d = await placeDialog(page, '1号楼')
  await d.locator('[data-test=place-error]').getByText('同一上级下已有名为“1号楼”的楼栋').waitFor()
  await plain(page, 'place name taken')
  await shot(page, '20-places-name-taken')
  await d.getByRole('button', { name: '取消' }).click()

  const bs = (await apiCall(base, staff, 'GET', '/courtyards/1/buildings')).buildings
  const made = bs.find((b) => b.name === '5号楼（新）')
  assert.ok(made && made.units.length === 1 && made.units[0].name === '东单元', `buildings after the dialogs: ${JSON.stringify(bs.map((b) => [b.name, b.units.map((u) => u.name)]))}`)
  await shot(page, '20-places-tree')

  // --- Another community's places: answered as missing.
  for (const [path, body] of [[`/courtyards/${otherYard}/buildings`, { name: '9号楼' }], [`/communities/${otherCommunity}/courtyards`, { name: '新小区' }]]) {
    const res = await fetch(base + '/api/v1' + path, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + staff }, body: JSON.stringify(body) })
    const j = await res.json()
    assert.equal(res.status, 404, `${path}: ${res.status} ${JSON.stringify(j)}`)
    assert.ok(/不存在/.test(j.error.message), j.error.message)
  }

  // --- Households page and filter on the server; the numbers are the API's.
  log('places: households paged on the server')
  const b2 = bs.find((b) => b.name === '2号楼')
  await choose(page, 'filter-building', '2号楼')
  const api2 = await apiCall(base, staff, 'GET', `/courtyards/1/households?building_id=${b2.id}&page=2&page_size=20`)
  await page.locator('[data-test=households] .el-pagination__total', { hasText: String(api2.total) }).waitFor()
  assert.equal(api2.total, 28)
  await page.locator('[data-test=households] .el-pager li', { hasText: '2' }).click()
  const firstRoom = page.locator('[data-test=households] .el-table__body tr').first()
  await firstRoom.getByText(api2.households[0].room, { exact: true }).waitFor()
  assert.equal(await page.locator('[data-test=households] .el-table__body tr').count(), api2.households.length)
  await shot(page, '20-households-building-page2')

  await choose(page, 'filter-building', '1号楼')
  await choose(page, 'filter-bound', '已有住户绑定')
  const b1 = bs.find((b) => b.name === '1号楼')
  const bound = await apiCall(base, staff, 'GET', `/courtyards/1/households?building_id=${b1.id}&bound=yes&page=1&page_size=20`)
  assert.ok(bound.total >= 1, 'wang bound 1号楼1单元101 in the walk-through')
  await page.locator('[data-test=households] .el-table__body tr').nth(bound.households.length - 1).waitFor()
  await page.waitForTimeout(300)
  assert.equal(await page.locator('[data-test=households] .el-table__body tr').count(), bound.households.length)
  const shownRooms = await page.locator('[data-test=households] .el-table__body tr td:nth-child(3)').allInnerTexts()
  assert.deepEqual(shownRooms.map((s) => s.trim()), bound.households.map((h) => h.room))

  // A household's members: wang represents 101.
  await page.locator('[data-test=households] .el-table__body tr', { hasText: '101' }).first().locator('[data-test=members]').click()
  const drawer = page.locator('.el-drawer', { hasText: '1号楼1单元101 的住户' })
  await drawer.getByText('户代表').waitFor()
  await drawer.getByText('邀请码').first().waitFor()
  await plain(page, 'household members')
  await shot(page, '20-household-members')
  await page.keyboard.press('Escape')
  await drawer.waitFor({ state: 'hidden' })

  // --- Invite slips for 2号楼: one per household, its codes bind.
  log('places: invite slips')
  await page.locator('[data-test=filter-bound] .el-select__clear, [data-test=filter-bound] .el-icon').first().click().catch(() => {})
  await choose(page, 'filter-building', '2号楼')
  await page.click('[data-test=print-slips]')
  await page.waitForURL(/\/console\/invite-slips/)
  await page.locator('[data-test=slips-where]').getByText('2号楼').waitFor()
  await page.click('[data-test=slips-issue]')
  await page.locator('[data-test=slip]').nth(27).waitFor()
  assert.equal(await page.locator('[data-test=slip]').count(), 28)
  const all2 = await apiCall(base, staff, 'GET', `/courtyards/1/households?building_id=${b2.id}&page=1&page_size=100`)
  const addrs = (await page.locator('[data-test=slip] .addr').allInnerTexts()).map((s) => s.trim())
  assert.deepEqual(addrs, all2.households.map((h) => `铝厂小区 ${h.building}${h.unit}${h.room}`))
  await plain(page, 'invite slips')
  await shot(page, '20-invite-slips')
  await page.emulateMedia({ media: 'print' })
  assert.equal(await page.locator('.aside').isVisible(), false, 'the menu prints')
  assert.equal(await page.locator('[data-test=slips-issue]').isVisible(), false, 'the buttons print')
  await shot(page, '20-invite-slips-print')
  await page.emulateMedia({ media: 'screen' })

  // A code from a slip binds its household through the API.
  const code = (await page.locator('[data-test=slip-code]').nth(3).innerText()).trim()
  const resident = await wechat('slip4')
  const m = await apiCall(base, resident, 'POST', '/me/households', { invite_code: code })
  assert.equal(m.household_id, all2.households[3].id, 'the slip bound another household')
  const after = await apiCall(base, staff, 'GET', `/courtyards/1/households?building_id=${b2.id}&bound=yes&page=1`)
  assert.ok(after.households.some((h) => h.id === all2.households[3].id), 'the bound household is not listed as bound')
}
