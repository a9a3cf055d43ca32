// Staff and roles (issue #12 items 1, 5, 7): a subdistrict admin changes
// the password (a wrong old one refused in the server's words; then the new
// one logs in), makes a staff account, grants it the full-phone export and
// revokes it — the staff member's next full-phone download is refused in
// words, at once. Community staff see the staff list without its actions,
// and no full-phone option.
import assert from 'node:assert/strict'
import ExcelJS from 'exceljs'
import { apiCall, inp, log, plain, shot } from '../lib.js'

async function login(page, url, user, password) {
  await page.goto(url('/login'))
  await page.fill(inp('username'), user)
  await page.fill(inp('password'), password)
  await page.click('[data-test=login-submit]')
  await page.waitForURL(/\/console\/places/)
}

export async function run({ page, browser, base, url, srv, admin }) {
  admin('create-staff', '-username', 'jiedao', '-name', '街道管理员王', '-role', 'subdistrict_admin', '-scope', '1')
  // wang, the representative of 1号楼1单元101, binds his phone: the lists carry it.
  const wang = (await apiCall(base, null, 'POST', '/auth/wechat/login', { code: 'wang.staff' })).access_token
  const masked = (await apiCall(base, wang, 'POST', '/me/phone', { code: 'wang.phone' })).phone_masked
  assert.match(masked, /^\d{3}\*{4}\d{4}$/)

  // --- Change password: the server's message for a wrong old one; then the new one logs in.
  log('staff: change password')
  await login(page, url, 'jiedao', 'guangming-pass-1')
  await page.click('[data-test=change-password]')
  const dlg = page.locator('.el-dialog', { hasText: '修改密码' })
  await page.fill(inp('old-password'), 'not-the-password')
  await page.fill(inp('new-password'), 'jiedao-new-pass-1')
  await page.fill(inp('new-password-again'), 'jiedao-new-pass-1')
  await page.click('[data-test=password-submit]')
  await dlg.locator('[data-test=password-error]').getByText('原密码不正确，还可以再试4次').waitFor()
  await plain(page, 'password dialog')
  await shot(page, '17-password-dialog')
  await page.fill(inp('old-password'), 'guangming-pass-1')
  await page.fill(inp('new-password'), 'short')
  await page.fill(inp('new-password-again'), 'short')
  await page.click('[data-test=password-submit]')
  await dlg.locator('[data-test=password-error]').getByText('密码长度须为10到72个字符').waitFor()
  await page.fill(inp('new-password'), 'jiedao-new-pass-1')
  await page.fill(inp('new-password-again'), 'jiedao-new-pass-1')
  await page.click('[data-test=password-submit]')
  await page.locator('.el-message').getByText('密码已修改').waitFor()
  // This session continues on the fresh tokens.
  await page.click('text=员工与权限')
  await page.locator('[data-test=staff-table]').getByText('桐本北路社区网格员').waitFor()
  await page.click('[data-test=logout]')
  await page.locator('[data-test=login-notice]').getByText('您已退出登录').waitFor()
  await page.fill(inp('username'), 'jiedao')
  await page.fill(inp('password'), 'guangming-pass-1')
  await page.click('[data-test=login-submit]')
  await page.locator('[data-test=login-error]').getByText('用户名或密码错误').waitFor()
  await page.fill(inp('password'), 'jiedao-new-pass-1')
  await page.click('[data-test=login-submit]')
  await page.waitForURL(/\/console\/places/)

  // --- The staff of the subdistrict; a new account made here, its password shown once.
  log('staff: list and create')
  await page.click('text=员工与权限')
  const table = page.locator('[data-test=staff-table]')
  await table.getByText('光明社区网格员').waitFor() // another community of the same subdistrict
  await table.locator('tr', { hasText: '街道管理员王' }).getByText('本人').waitFor()
  await page.click('[data-test=staff-new]')
  await page.fill(inp('new-name'), '李红')
  await page.fill(inp('new-username'), 'lihong')
  await page.locator('[data-test=new-role]').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: '社区工作人员（桐本北路社区）' }).click()
  await page.click('[data-test=new-submit]')
  const initial = (await page.locator('[data-test=initial-password]').innerText()).trim()
  assert.match(initial, /^[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}$/, `initial password ${initial}`)
  await plain(page, 'account made')
  await shot(page, '18-staff-created')
  await page.click('[data-test=made-close]')
  const li = table.locator('tr', { hasText: '李红' })
  await li.getByText('社区工作人员 · 桐本北路社区').waitFor()
  // Searching on the server.
  await page.fill(inp('staff-q'), '李红')
  await page.click('[data-test=staff-search]')
  await page.waitForFunction(() => !document.querySelector('[data-test=staff-table]').innerText.includes('光明社区网格员'))
  await page.locator('.el-pagination__total').getByText('共 1 条').waitFor()

  // --- Grant the full-phone export; the offer comes from the server (none to oneself).
  log('staff: grant')
  await page.click('[data-test=grant-open-lihong]')
  const grantDlg = page.locator('.el-dialog', { hasText: '授予角色' })
  await grantDlg.locator('[data-test=option-phone_viewer-1]').click()
  await page.click('[data-test=grant-submit]')
  await li.getByText('导出完整手机号 · 桐本北路社区').waitFor()
  await page.fill(inp('staff-q'), '')
  await page.click('[data-test=staff-search]')
  await table.getByText('光明社区网格员').waitFor()
  await page.click('[data-test=grant-open-jiedao]')
  assert.equal(await grantDlg.locator('[data-test^=option-phone_viewer]').count(), 0, 'the admin is offered the full-phone power for themself')
  await page.keyboard.press('Escape')
  await grantDlg.waitFor({ state: 'hidden' })
  // The admin's own admin role is not offered for revocation (another admin must).
  assert.equal(await table.locator('[data-test=revoke-jiedao]').count(), 0, 'the admin is offered to revoke their own admin role')
  await page.locator('.el-message').first().waitFor({ state: 'detached', timeout: 8000 }).catch(() => {})
  await plain(page, 'staff page')
  await shot(page, '19-staff')

  // --- Li Hong downloads with full phones; after the revocation the next download is refused, in words.
  log('staff: full-phone export and revocation')
  const liPage = await browser.newPage()
  liPage.setDefaultTimeout(15000)
  await login(liPage, url, 'lihong', initial)
  await liPage.click('text=征求意见与导出')
  const full = liPage.locator('[data-test=full-phones]')
  await full.waitFor()
  await full.click()
  const prow = liPage.locator('[data-test=petitions] tr', { hasText: '2号楼加装电梯意见征集' })
  const [download] = await Promise.all([liPage.waitForEvent('download'), prow.getByText('签名名单（Excel）').click()])
  assert.match(download.suggestedFilename(), /\.xlsx$/)
  const book = new ExcelJS.Workbook()
  await book.xlsx.readFile(await download.path())
  const rows = []
  book.getWorksheet('未签名').eachRow((r) => rows.push(r.values.slice(1).map((v) => (v && typeof v === 'object' ? v.text ?? v.result ?? '' : v ?? '')).join('|')))
  const row101 = rows.find((r) => r.startsWith('1号楼|1单元|101|'))
  assert.ok(row101, `no row of 1号楼1单元101 among ${rows.length}`)
  const phone = /\b1\d{10}\b/.exec(row101)
  assert.ok(phone && phone[0].slice(0, 3) === masked.slice(0, 3) && phone[0].slice(-4) === masked.slice(-4), `full phone of wang (${masked}) in ${row101}`)
  await shot(liPage, '20-petitions-full-phones')

  await page.fill(inp('staff-q'), 'lihong')
  await page.click('[data-test=staff-search]')
  await page.locator('.el-pagination__total').getByText('共 1 条').waitFor()
  const revokeButtons = li.locator('[data-test=revoke-lihong]')
  assert.equal(await revokeButtons.count(), 2, 'both of Li Hong\'s roles may be revoked by the admin')
  await li.locator('.grant', { hasText: '导出完整手机号' }).getByText('撤销').click()
  await page.locator('.el-message-box').getByRole('button', { name: '撤销' }).click()
  await page.locator('.el-message').getByText('已撤销 李红 的“导出完整手机号（桐本北路社区）”').waitFor()
  await page.waitForFunction(() => !document.querySelector('[data-test=staff-table]').innerText.includes('导出完整手机号'))

  await prow.getByText('签名名单（Excel）').click() // the page still offers it: the server refuses
  await liPage.locator('.el-message').getByText('导出完整手机号需要单独的查看手机号权限').waitFor()
  await plain(liPage, 'refused full phones')
  await shot(liPage, '21-full-phones-refused')
  await liPage.reload()
  await liPage.locator('[data-test=petitions]').waitFor()
  assert.equal(await liPage.locator('[data-test=full-phones]').count(), 0, 'the full-phone option is offered after the revocation')
  await liPage.close()

  // --- Community staff: the list, no actions, no full-phone option.
  log('staff: community staff see no actions')
  const clerk = await browser.newPage()
  clerk.setDefaultTimeout(15000)
  await login(clerk, url, srv.user, srv.password)
  await clerk.click('text=员工与权限')
  const ctable = clerk.locator('[data-test=staff-table]')
  await ctable.getByText('李红').waitFor()
  assert.equal(await ctable.getByText('光明社区网格员').count(), 0, 'another community\'s staff are listed')
  assert.equal(await ctable.getByText('街道管理员王').count(), 0, 'the subdistrict admin is listed as community staff')
  for (const sel of ['[data-test=staff-new]', '[data-test^=revoke-]', '[data-test^=grant-open-]']) {
    assert.equal(await clerk.locator(sel).count(), 0, `community staff are offered ${sel}`)
  }
  await clerk.getByText('授予和撤销角色须由街道管理员办理').waitFor()
  await plain(clerk, 'staff page of community staff')
  await shot(clerk, '22-staff-community')
  await clerk.click('text=征求意见与导出')
  await clerk.locator('[data-test=petitions]').waitFor()
  assert.equal(await clerk.locator('[data-test=full-phones]').count(), 0, 'community staff without the role are offered full phones')
  await clerk.close()

  // --- A full-phone viewer who is not staff of a community: no staff page in the menu, refused in words.
  log('staff: refused without a staff role')
  const made = /staff account (\d+)/.exec(admin('create-staff', '-username', 'haoma', '-name', '手机号查看员'))
  admin('grant', '-staff', made[1], '-role', 'phone_viewer', '-scope', '1')
  const viewer = await browser.newPage()
  viewer.setDefaultTimeout(15000)
  await login(viewer, url, 'haoma', 'guangming-pass-1')
  await viewer.locator('.el-menu').getByText('审计日志').waitFor()
  assert.equal(await viewer.locator('.el-menu').getByText('员工与权限').count(), 0, 'the staff page is in the menu of a phone viewer')
  await viewer.goto(url('/staff'))
  await viewer.locator('[data-test=refused]').getByText('只有街道管理员和社区工作人员可以查看员工与权限').waitFor()
  await plain(viewer, 'staff page refused')
  await shot(viewer, '23-staff-refused')
  await viewer.close()
}
