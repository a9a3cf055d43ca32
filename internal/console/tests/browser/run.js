// Browser tests of the staff console: playwright-core drives Debian's
// Chromium against the real Go server, started here in its embedded
// default (SQLite, in-process Redis, fake WeChat, the demo courtyard) with
// a fresh data folder. Each scenario is a person's task, checked by what is
// on the screen; a screenshot of every main page lands in test-artifacts/.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import assert from 'node:assert/strict'
import ExcelJS from 'exceljs'
import { chromium } from 'playwright-core'
import { here, consoleDir, repo, artifacts, CHROMIUM, started, log, freePort, inp, sleep, png, chinaTime, startServer, apiCall, staffToken, plain, shot } from './lib.js'

async function main() {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`)
  rmSync(artifacts, { recursive: true, force: true })
  mkdirSync(artifacts, { recursive: true })
  const work = mkdtempSync(join(tmpdir(), 'louyuan-console-'))
  const port = await freePort()
  const srv = await startServer(work, port)
  let browser
  const profile = mkdtempSync(join(tmpdir(), 'louyuan-chromium-'))
  try {
    const { base } = srv
    log('server up at', base, 'demo staff', srv.user)

    // A second courtyard in another community, with its own staff member
    // and a motion: objects outside the demo staff member's scope.
    const admin = (...args) => execFileSync(srv.bin, ['admin', ...args], { cwd: work, env: { ...srv.env, LOUYUAN_ADMIN_PASSWORD: 'guangming-pass-1' }, encoding: 'utf8' })
    const placed = /community (\d+), courtyard (\d+)/.exec(admin('add-courtyard', '-subdistrict', '新华路街道', '-community', '光明社区', '-courtyard', '光明小区'))
    const [otherCommunity, otherYard] = [Number(placed[1]), Number(placed[2])]
    admin('create-staff', '-username', 'guangming', '-name', '光明社区网格员', '-role', 'community_staff', '-scope', String(otherCommunity))
    const other = await staffToken(base, 'guangming', 'guangming-pass-1')
    const soon = Date.now() + 30 * 86400 * 1000
    const otherMotion = await apiCall(base, other, 'POST', `/courtyards/${otherYard}/motions`, {
      scope_type: 'courtyard', title: '光明小区更换路灯', rule: 'ordinary', ballot_mode: 'named', notice_days: 7, objection_days: 7,
      opens_at: new Date(soon).toISOString(), closes_at: new Date(soon + 7 * 86400 * 1000).toISOString(),
    })

    // A resident: wang binds 1号楼1单元101 with its invite code and allows
    // one notice message; zhao asks to bind 1号楼1单元301 as a tenant.
    const wechat = async (who) => (await apiCall(base, null, 'POST', '/auth/wechat/login', { code: who + '.1' })).access_token
    const wang = await wechat('wang')
    const invite = readFileSync(join(srv.env.LOUYUAN_DATA_DIR, 'demo-invites.tsv'), 'utf8').split('\n')[1].split('\t')[3]
    await apiCall(base, wang, 'POST', '/me/households', { invite_code: invite })
    await apiCall(base, wang, 'POST', '/me/subscriptions', { results: { 'demo-notice': 'accept' } })
    await apiCall(base, await wechat('zhao'), 'POST', '/households/5/bind-requests', { role: 'tenant', real_name: '赵租户', note: '租住三年' })

    // A notice sent to the demo courtyard, for the delivery report.
    const staff = await staffToken(base, srv.user, srv.password)
    const n = await apiCall(base, staff, 'POST', '/notices', { targets: [{ scope_type: 'courtyard', scope_id: 1 }], title: '本周六停水通知', body: '因管道检修，本周六8:00至12:00停水。' })
    await apiCall(base, staff, 'POST', `/notices/${n.id}/send`)

    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1366, height: 768 },
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      acceptDownloads: true,
    })
    const page = browser.pages()[0] || (await browser.newPage())
    page.setDefaultTimeout(15000)
    const consoleErrors = []
    page.on('pageerror', (e) => consoleErrors.push(String(e)))
    const url = (p) => `${base}/console${p}`

    // --- Login: a wrong password, then the lockout, in the server's words.
    log('login and lockout')
    await page.goto(url('/'))
    await page.waitForURL(/\/console\/login/)
    await shot(page, '01-login')
    for (let i = 0; i < 5; i++) {
      await page.fill(inp('username'), 'guangming')
      await page.fill(inp('password'), 'wrong-password')
      await page.click('[data-test=login-submit]')
      await page.locator('[data-test=login-error]').getByText('用户名或密码错误').waitFor()
      await page.fill(inp('password'), '')
      await page.waitForTimeout(50)
    }
    await page.fill(inp('password'), 'guangming-pass-1')
    await page.click('[data-test=login-submit]')
    await page.locator('[data-test=login-error]').getByText('密码错误次数过多', { exact: false }).waitFor()
    await plain(page, 'login')
    await shot(page, '02-login-locked')

    await page.fill(inp('username'), srv.user)
    await page.fill(inp('password'), srv.password)
    await page.click('[data-test=login-submit]')
    await page.waitForURL(/\/console\/places/)

    // --- Places: the tree shows only this staff member's courtyards; the owner check.
    log('places')
    const tree = page.locator('[data-test=places-tree]')
    await tree.getByText('铝厂小区').waitFor()
    await tree.getByText('1号楼').first().waitFor()
    assert.equal(await tree.getByText('光明小区').count(), 0, 'a courtyard outside the scope is in the tree')
    const heads = page.locator('[data-test=head-summary]')
    await heads.getByText('56 户').waitFor()
    await heads.getByText('55 人').waitFor()
    await heads.getByText('王春芬').waitFor()
    await page.locator('[data-test=households]').getByText('共 56 条').waitFor()
    await plain(page, 'places')
    await shot(page, '03-places')

    // --- Roster import: a bad file's errors next to its rows.
    log('roster import')
    const wb = new ExcelJS.Workbook()
    const ws = wb.addWorksheet('名册')
    ws.addRow(['楼栋', '单元', '房号', '楼层', '专有面积', '业主姓名', '证件后四位', '同名是同一人'])
    ws.addRow(['3号楼', '1单元', '101', 1, '80.5', '甲某', '', ''])
    ws.addRow(['3号楼', '1单元', '102', '一楼', 'abc', '乙某', '', ''])
    ws.addRow(['3号楼', '1单元', '', 1, '70', '', '', ''])
    const bad = Buffer.from(await wb.xlsx.writeBuffer())
    await page.click('text=名册导入')
    await page.setInputFiles('[data-test=roster-file]', { name: '名册.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: bad })
    await page.click('[data-test=roster-upload]')
    const errs = page.locator('[data-test=roster-errors]')
    await errs.getByText('名册有错误，整个文件未导入').waitFor()
    await errs.getByText('第 3 行').waitFor()
    await errs.getByText('第 4 行').waitFor()
    assert.equal(await errs.getByText('第 2 行').count(), 0, 'a good row is listed as bad')
    await errs.getByText('楼层：楼层必须是1到60之间的整数').waitFor()
    await errs.getByText('房号：房号不能为空').waitFor()
    await errs.getByText('一楼', { exact: true }).waitFor() // the bad cell itself, shown next to its reason
    await plain(page, 'roster')
    await shot(page, '04-roster-errors')

    // --- A resident's request to bind, approved.
    log('requests')
    await page.click('text=住户申请审核')
    const req = page.locator('[data-test=requests] tr', { hasText: '赵租户' })
    await req.getByText('1号楼1单元301').waitFor()
    await req.getByText('租户', { exact: true }).waitFor()
    await plain(page, 'requests')
    await shot(page, '05-requests')
    await req.getByRole('button', { name: '同意', exact: true }).click()
    await page.locator('.el-message').getByText('已同意').waitFor()
    await page.locator('[data-test=requests]').getByText('暂无数据').waitFor()

    // --- Motions: create, publish, open.
    log('motion: create, publish, open')
    await page.click('text=表决事项')
    await page.click('[data-test=motion-new]')
    await page.fill(inp('motion-title'), '1号楼加装电梯')
    await page.locator(inp('motion-notice-days')).fill('0')
    const opens = new Date(Date.now() + 12000)
    for (const [sel, d] of [['[data-test=motion-opens]', opens], ['[data-test=motion-closes]', new Date(Date.now() + 7 * 86400 * 1000)]]) {
      const input = page.locator(`input${sel}, ${sel} input`).first()
      await input.fill(chinaTime(d))
      await input.press('Enter')
    }
    await page.locator('.el-dialog__title', { hasText: '新建表决' }).click()
    await shot(page, '06-motion-create')
    await page.click('[data-test=motion-save]')
    await page.waitForURL(/\/console\/motions\/\d+$/)
    const motionId = Number(/motions\/(\d+)$/.exec(page.url())[1])
    await page.locator('[data-test=motion-status]').getByText('草稿').waitFor()
    await page.click('[data-test=step-publish]')
    await page.locator('[data-test=motion-status]').getByText('公示中').waitFor()
    // Voting may open only at opens_at; until then the server refuses, in Chinese.
    await page.click('[data-test=step-open]')
    await page.locator('.el-message').getByText('还没到投票开始时间').waitFor()
    await plain(page, 'motion refused open')
    const published = (await apiCall(base, staff, 'GET', `/motions/${motionId}`)).motion
    assert.equal(new Date(published.opens_at).getTime(), Math.floor(opens.getTime() / 1000) * 1000, 'opens_at as typed')
    await sleep(Math.max(0, new Date(published.opens_at).getTime() - Date.now() + 1000))
    await page.reload()
    await page.locator('[data-test=motion-status]').waitFor()
    if (await page.locator('[data-test=step-open]').count()) {
      await page.click('[data-test=step-open]')
      await page.locator('.el-message').last().waitFor()
      log('open:', await page.locator('.el-message').last().innerText())
    }
    await page.locator('[data-test=motion-status]').getByText('投票中').waitFor()

    // wang votes in the mini-program; a paper ballot for the same household will differ.
    await apiCall(base, wang, 'POST', `/motions/${motionId}/ballots`, { household_id: 1, options: ['agree'] })

    // --- Paper ballot with a photo.
    log('paper ballot')
    const pform = page.locator('[data-test=paper-form]')
    await pform.locator('[data-test=paper-household]').click()
    await page.keyboard.type('1号楼1单元201')
    await page.locator('.el-select-dropdown__item:visible', { hasText: '1号楼1单元201' }).click()
    await pform.getByText('同意').click()
    await page.setInputFiles('[data-test=paper-photo]', { name: '纸质票.png', mimeType: 'image/png', buffer: png(1) })
    await page.locator('.file-pick').getByText('纸质票.png').waitFor() // the chosen file named in Chinese surroundings, not "Choose File"
    await page.click('[data-test=paper-submit]')
    await page.locator('.el-message').getByText('纸质票已录入').waitFor()
    const tally = page.locator('[data-test=tally]')
    await tally.getByText('已表决房屋').waitFor()
    await page.waitForFunction(() => document.querySelector('[data-test=tally]')?.innerText.includes('2 户'))
    assert.ok((await page.locator('[data-test=threshold]').count()) >= 4, 'four thresholds of an ordinary motion')
    await tally.getByText('还差').first().waitFor()
    await plain(page, 'motion detail')
    await shot(page, '07-motion-detail-tally')
    // A paper ballot for 101, whose representative voted 同意 in the mini-program.
    await pform.locator('[data-test=paper-household]').click()
    await page.keyboard.type('1号楼1单元101')
    await page.locator('.el-select-dropdown__item:visible', { hasText: '1号楼1单元101' }).click()
    await pform.getByText('反对').click()
    await page.setInputFiles('[data-test=paper-photo]', { name: '纸质票.png', mimeType: 'image/png', buffer: png(2) })
    await page.click('[data-test=paper-submit]')
    const recon = page.locator('[data-test=reconciliation] tr', { hasText: '1号楼1单元101' })
    await recon.getByText('不一致').waitFor()
    await recon.getByText('同意').waitFor()
    await recon.getByText('反对').waitFor()
    await plain(page, 'reconciliation')
    await page.locator('[data-test=reconciliation]').scrollIntoViewIfNeeded()
    await shot(page, '07-motion-reconciliation')

    await page.click('text=表决事项')
    await page.locator('[data-test=motions]').getByText('1号楼加装电梯').waitFor()
    await shot(page, '08-motions')

    // --- Dashboard: the chart's numbers are the server's turnout.
    log('dashboard')
    await page.click('text=参与情况')
    await page.locator('[data-test=turnout-chart] svg').waitFor()
    const turnout = await apiCall(base, staff, 'GET', `/motions/${motionId}/turnout`)
    const svgText = await page.locator('[data-test=turnout-chart] svg text').allTextContents()
    for (const u of turnout.units) assert.ok(svgText.includes(u.building + u.unit), `axis label ${u.building + u.unit} missing: ${svgText}`)
    const u11 = turnout.units.find((u) => u.building === '1号楼' && u.unit === '1单元')
    assert.equal(u11.voted, 2)
    assert.ok(svgText.includes('2') && svgText.includes(String(u11.households - 2)), `bar labels ${svgText}`)
    await page.locator('[data-test=buildings]').getByText('1号楼：已表决 2 / 28 户').waitFor()
    await page.locator('[data-test=buildings]').getByText('2号楼：已表决 0 / 28 户').waitFor()
    await page.getByText('共 54 户').waitFor()
    await plain(page, 'dashboard')
    await shot(page, '09-dashboard')

    // --- Petitions: create, publish, a paper signature, the signature XLSX.
    log('petition and export')
    await page.click('text=征求意见与导出')
    await page.click('[data-test=petition-new]')
    await page.fill(inp('petition-title'), '2号楼加装电梯意见征集')
    await page.click('[data-test=petition-save]')
    const prow = page.locator('[data-test=petitions] tr', { hasText: '2号楼加装电梯意见征集' })
    await prow.waitFor()
    await prow.getByText('发布').click()
    await prow.getByText('征集中').waitFor()
    await prow.getByText('录入纸质签名').click()
    const dlg = page.locator('.el-dialog', { hasText: '录入纸质签名' })
    await dlg.locator('.el-select').click()
    await page.keyboard.type('2号楼1单元101')
    await page.locator('.el-select-dropdown__item:visible', { hasText: '2号楼1单元101' }).click()
    await dlg.locator('input:not([type=file])').nth(1).fill('邓秀兰')
    await dlg.locator('input[type=file]').setInputFiles({ name: '签字页.png', mimeType: 'image/png', buffer: png(3) })
    await dlg.getByRole('button', { name: '录入' }).click()
    await page.locator('.el-message').getByText('纸质签名已录入').waitFor()
    await shot(page, '10-petitions')
    const [download] = await Promise.all([page.waitForEvent('download'), prow.getByText('签名名单（Excel）').click()])
    assert.match(download.suggestedFilename(), /\.xlsx$/)
    const xbook = new ExcelJS.Workbook()
    await xbook.xlsx.readFile(await download.path())
    const rowsOf = (name) => {
      const sheet = xbook.getWorksheet(name)
      assert.ok(sheet, `sheet ${name} missing; sheets: ${xbook.worksheets.map((s) => s.name)}`)
      const out = []
      sheet.eachRow((r) => out.push(r.values.slice(1).map((v) => (v && typeof v === 'object' ? v.text ?? v.result ?? '' : v ?? '')).join('|')))
      return out
    }
    const signed = rowsOf('已签名')
    const notSigned = rowsOf('未签名')
    const signedData = signed.filter((r) => /^[12]号楼\|/.test(r))
    assert.equal(signedData.length, 1, `signed rows: ${signed.join('\n')}`)
    assert.ok(signedData[0].includes('101') && signedData[0].includes('邓秀兰'), `signed row ${signedData[0]}`)
    assert.equal(notSigned.filter((r) => /^[12]号楼\|/.test(r)).length, 55, `not signed rows: ${notSigned.length}`)

    // --- Notices and the delivery report.
    log('notices')
    await page.click('text=通知与送达')
    const nrow = page.locator('[data-test=notices] tr', { hasText: '本周六停水通知' })
    await nrow.getByText('已发送').waitFor()
    await shot(page, '11-notices')
    await nrow.getByText('送达情况').click()
    await page.locator('.el-dialog').getByText('接收人 1 人').waitFor()
    await plain(page, 'notice report')
    await shot(page, '12-notice-report')
    await page.keyboard.press('Escape')

    // --- Extend voting; an early close is refused.
    log('extend; close refused')
    await page.goto(url(`/motions/${motionId}`))
    await page.locator('[data-test=motion-status]').getByText('投票中').waitFor()
    const later = new Date(Date.now() + 10 * 86400 * 1000)
    const extendInput = page.locator(inp('extend-to'))
    await extendInput.fill(chinaTime(later))
    await extendInput.press('Enter')
    await page.click('[data-test=extend]')
    await page.locator('.el-message').getByText('已延长投票时间').waitFor()
    const extended = (await apiCall(base, staff, 'GET', `/motions/${motionId}`)).motion
    assert.equal(new Date(extended.closes_at).getTime(), Math.floor(later.getTime() / 1000) * 1000, 'closes_at as typed')
    // Voting closes at closes_at; before it the server refuses, in words.
    await page.click('[data-test=step-close]')
    await page.locator('.el-message').getByText('还没到投票截止时间').waitFor()
    await page.locator('[data-test=motion-status]').getByText('投票中').waitFor()
    await plain(page, 'close refused')
    await shot(page, '12-motion-extended')

    // --- The audit log: filtered on the server, an entry's detail, verification refused.
    log('audit log')
    await page.click('text=审计日志')
    const audit = page.locator('[data-test=audit-entries]')
    // The newest entries first (notice deliveries may have pushed the
    // publication to a later page): wait for a row, then filter.
    await audit.locator('tbody tr').first().waitFor()
    await page.locator('[data-test=audit-action]').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: '投票' }).first().click()
    await page.click('[data-test=audit-search]')
    await audit.getByText('改票').first().waitFor() // the paper ballot that replaced wang's vote
    await page.waitForFunction(() => !document.querySelector('[data-test=audit-entries]').innerText.includes('发布公示'))
    const auditApi = await apiCall(base, staff, 'GET', '/courtyards/1/audit?action=ballot.')
    await page.locator('.el-pagination__total').getByText(`共 ${auditApi.total} 条`).waitFor()
    await audit.locator('tr', { hasText: '工作人员 1 号' }).filter({ hasText: '改票' }).first().click()
    const detail = page.locator('[data-test=audit-detail]')
    await detail.getByText('工作人员 1 号').waitFor()
    await detail.getByText('改票').waitFor()
    await plain(page, 'audit detail')
    await shot(page, '13-audit-detail')
    await page.keyboard.press('Escape')
    await page.click('[data-test=audit-verify]')
    await page.locator('[data-test=verify-result]').getByText('只有街道管理员可以核验审计日志').waitFor()
    await plain(page, 'audit')
    await shot(page, '13-audit')

    // --- Outside the scope: a page and an object are refused, in words.
    log('scope')
    await page.goto(url(`/places?courtyard=${otherYard}`))
    await page.locator('[data-test=refused]').getByText('您无权管理该楼院').waitFor()
    assert.equal(await page.locator('[data-test=households]').count(), 0)
    await plain(page, 'refused place')
    await shot(page, '14-refused-place')
    await page.goto(url(`/motions/${otherMotion.id}`))
    await page.locator('[data-test=refused]').waitFor()
    const refusedText = await page.locator('[data-test=refused]').innerText()
    assert.ok(/无权|不存在|没有这项表决/.test(refusedText), `refused motion says: ${refusedText}`)
    assert.equal(await page.getByText('光明小区更换路灯').count(), 0, 'the other courtyard\'s motion is shown')
    await plain(page, 'refused motion')
    await shot(page, '15-refused-motion')

    // --- Sessions: an expired access token is refreshed; a dead session asks to log in again.
    log('session expiry')
    await page.goto(url('/places'))
    await page.locator('[data-test=head-summary]').waitFor()
    await page.evaluate(() => {
      const k = 'louyuan.console.session'
      const s = JSON.parse(sessionStorage.getItem(k))
      sessionStorage.setItem(k, JSON.stringify({ ...s, access_token: 'lya_expired' }))
    })
    await page.goto(url('/motions'))
    await page.locator('[data-test=motions]').getByText('1号楼加装电梯').waitFor() // refreshed behind the scenes
    const refreshed = await page.evaluate(() => JSON.parse(sessionStorage.getItem('louyuan.console.session')).access_token)
    assert.notEqual(refreshed, 'lya_expired')
    await page.evaluate(() => {
      const k = 'louyuan.console.session'
      const s = JSON.parse(sessionStorage.getItem(k))
      sessionStorage.setItem(k, JSON.stringify({ ...s, access_token: 'lya_expired', refresh_token: 'lyr_gone' }))
    })
    await page.goto(url('/dashboard'))
    await page.waitForURL(/\/console\/login/)
    await page.locator('[data-test=login-notice]').getByText('登录已过期，请重新登录').waitFor()
    await plain(page, 'expired')
    await shot(page, '16-session-expired')

    // --- Logout.
    await page.fill(inp('username'), srv.user)
    await page.fill(inp('password'), srv.password)
    await page.click('[data-test=login-submit]')
    await page.waitForURL(/\/console\/dashboard/)
    await page.click('[data-test=logout]')
    await page.locator('[data-test=login-notice]').getByText('您已退出登录').waitFor()
    await page.goto(url('/motions'))
    await page.waitForURL(/\/console\/login/)

    assert.deepEqual(consoleErrors, [], 'errors in the page')

    // --- Further scenarios: every scenarios/*.js exports run(ctx), run in
    // name order, each on a fresh page (logged out) of the same browser.
    const scenarioDir = join(here, 'scenarios')
    // CONSOLE_SCENARIOS=40,20 runs only the scenarios whose names start so (while writing one).
    const only = (process.env.CONSOLE_SCENARIOS || '').split(',').filter(Boolean)
    const files = (existsSync(scenarioDir) ? readdirSync(scenarioDir).filter((f) => f.endsWith('.js')).sort() : [])
      .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
    for (const f of files) {
      log('scenario', f)
      const mod = await import(pathToFileURL(join(scenarioDir, f)).href)
      const p = await browser.newPage()
      p.setDefaultTimeout(15000)
      const errors = []
      p.on('pageerror', (e) => errors.push(String(e)))
      await mod.run({ page: p, browser, base, url, srv, work, staff, other, otherYard, otherCommunity, otherMotion, admin, wechat })
      assert.deepEqual(errors, [], `errors in the page during ${f}`)
      await p.close()
    }
    log(`passed; screenshots in ${artifacts}`)
  } catch (e) {
    if (browser) {
      const p = browser.pages()[0]
      if (p) await p.screenshot({ path: join(artifacts, 'failure.png') }).catch(() => {})
    }
    console.error(srv.output().split('\n').slice(-30).join('\n'))
    throw e
  } finally {
    if (browser) await browser.close()
    srv.proc.kill('SIGTERM')
    rmSync(work, { recursive: true, force: true })
    rmSync(profile, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
