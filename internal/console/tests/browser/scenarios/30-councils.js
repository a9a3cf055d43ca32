// Councils, elections, vetting, opinions and surveys in the staff console
// (issue #13's console part, issue #12 items 4 and 6): a council with its
// members and staff; an election of 3 seats among 5 candidates in one unit
// (2号楼2单元, 14 households) where one candidate is found ineligible and
// cannot be put on the ballot, whose appeal a second staff member decides;
// residents vote through the API; the result page shows the right three and
// the confirmation makes them the new term. Then an opinion answered and
// resolved, a survey compared across the community's councils in a chart,
// the council's activity on the dashboard, and the motion form's rules with
// the server's message beside the field.
import assert from 'node:assert/strict'
import { log, inp, sleep, png, chinaTime, apiCall, staffToken, plain, shot } from '../lib.js'

/** pickStaff finds a staff member by name in the council's staff picker and chooses them. */
async function pickStaff(page, name) {
  await page.locator('[data-test=staff-pick]').click()
  await page.locator(inp('staff-pick')).fill(name)
  await page.locator('.el-select-dropdown__item:visible', { hasText: name }).first().click()
}

export async function run(ctx) {
  const { page, base, url, srv, staff, admin, wechat } = ctx
  const api = (token, method, path, body) => apiCall(base, token, method, path, body)
  const closeDrawer = async () => {
    await page.locator('.el-drawer__close-btn:visible').click()
    await page.locator('.el-drawer:visible').waitFor({ state: 'hidden' })
  }
  const area = (name) => `textarea[data-test=${name}], [data-test=${name}] textarea`

  // --- Set-up through the API: a second staff member of the community, a
  // second courtyard with its own council, and the unit's 14 households
  // bound to residents.
  const made = /staff account (\d+)/.exec(admin('create-staff', '-username', 'fuhe', '-name', '复核员', '-role', 'community_staff', '-scope', '1'))
  const fuheId = Number(made[1])
  const fuhe = await staffToken(base, 'fuhe', 'guangming-pass-1')
  const yard2 = Number(/courtyard (\d+)/.exec(admin('add-courtyard', '-subdistrict', '新华路街道', '-community', '桐本北路社区', '-courtyard', '东风小区'))[1])
  const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date())
  const inThree = `${Number(today.slice(0, 4)) + 3}${today.slice(4)}`
  await api(staff, 'POST', '/councils', { name: '东风小区楼院理事会', courtyard_ids: [yard2], term_starts_on: today, term_ends_on: inThree })
  const councilId = (await api(staff, 'GET', '/courtyards/1/councils')).councils[0].id

  const households = (await api(staff, 'GET', '/courtyards/1/households')).households
  // Fresh invite codes for the unit's households (another scenario may
  // have reissued the demo's), each bound by a resident of its own.
  const unit22 = households.filter((h) => h.building === '2号楼' && h.unit === '2单元')
  const slips = (await api(staff, 'POST', '/courtyards/1/invites?format=json', { household_ids: unit22.map((h) => h.id) })).invites
  const reps = {} // room → {token, userId, household}
  for (const slip of slips) {
    const token = await wechat('c30r' + slip.room)
    await api(token, 'POST', '/me/households', { invite_code: slip.code })
    const h = unit22.find((x) => x.room === slip.room)
    reps[slip.room] = { token, userId: (await api(token, 'GET', '/me')).id, household: h }
  }
  assert.equal(Object.keys(reps).length, 14)
  const owner = (room) => reps[room].household.owners[0]

  // --- Log in; the councils of the community.
  log('councils')
  await page.goto(url('/login'))
  const login = async (user, password) => {
    await page.fill(inp('username'), user)
    await page.fill(inp('password'), password)
    await page.click('[data-test=login-submit]')
    await page.waitForURL(/\/console\/places/)
    // Work in 铝厂小区 (the header's choice, kept for the tab's life).
    await page.locator('[data-test=courtyard-select]').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: '铝厂小区' }).click()
  }
  await login(srv.user, srv.password)
  await page.click('text=楼院理事会')
  const councils = page.locator('[data-test=councils]')
  await councils.getByText('铝厂小区楼院理事会').waitFor()
  await councils.getByText('东风小区楼院理事会').waitFor()
  await councils.getByText('2026-01-01 至 2028-12-31').waitFor()
  await councils.getByText('主任（理事长）', { exact: false }).waitFor()
  await plain(page, 'councils')
  await shot(page, '30-councils')

  // --- The council: members, and fuhe assigned as a community cadre.
  await councils.getByText('铝厂小区楼院理事会').click()
  await page.waitForURL(/\/console\/councils\/\d+$/)
  await page.locator('[data-test=members]').first().getByText('成员').first().waitFor()
  await shot(page, '31-council-terms')
  await page.click('#tab-staff')
  await pickStaff(page, '复核')
  await page.locator('[data-test=staff-role]').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: '社区干部' }).click()
  await page.click('[data-test=staff-assign]')
  await page.locator('[data-test=council-staff]').getByText('复核员').waitFor()
  await page.locator('[data-test=council-staff]').getByText('社区干部（2）').waitFor()
  // The demo staff member as a grid worker, then removed again.
  await pickStaff(page, '桐本北路社区网格员')
  await page.locator('[data-test=staff-role]').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: /^\s*网格员（4）\s*$/ }).click()
  await page.click('[data-test=staff-assign]')
  const demoRow = page.locator('[data-test=council-staff] tr', { hasText: '桐本北路社区网格员' })
  await demoRow.getByText('网格员（4）').waitFor()
  await demoRow.getByRole('button', { name: '移除' }).click()
  await page.locator('.el-message-box').getByRole('button', { name: '移除', exact: true }).click()
  await demoRow.waitFor({ state: 'detached' })
  await page.locator('[data-test=council-staff]').getByText('复核员').waitFor()
  await plain(page, 'council staff')
  await shot(page, '32-council-staff')

  // --- An election of 3 seats in 2号楼2单元.
  log('election')
  await page.click('#tab-elections')
  await page.click('[data-test=election-new]')
  await page.fill(inp('election-title'), '2号楼2单元理事会成员选举')
  await page.locator('[data-test=election-scope]').getByText('一个单元').click()
  await page.locator('[data-test=election-unit]').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: '2号楼2单元' }).click()
  await page.locator('[data-test=unit-households]').getByText('14 户').waitFor()
  await page.locator(inp('election-seats')).fill('3')
  await shot(page, '33-election-create')
  await page.click('[data-test=election-save]')
  await page.waitForURL(/\/console\/elections\/\d+$/)
  const electionId = Number(/elections\/(\d+)$/.exec(page.url())[1])
  await page.locator('[data-test=election-status]').getByText('提名与资格审查').waitFor()
  await page.getByText('选举单元包含的房屋（14 户）').click()
  await page.locator('[data-test=unit-table]').getByText(owner('101')).waitFor()

  // Four candidates recommended by the community in the page; a fifth
  // nominated by two residents (household representatives of the unit).
  const [A, B, C, D, E] = ['101', '102', '201', '202', '301']
  for (const room of [A, B, C, D]) {
    await page.locator('[data-test=nominate-person]').click()
    await page.keyboard.type('2单元' + room)
    await page.locator('.el-select-dropdown__item:visible', { hasText: '2单元' + room }).click()
    assert.equal(await page.locator(inp('nominate-name')).inputValue(), owner(room))
    await page.click('[data-test=nominate]')
    await page.locator('[data-test=candidates]').getByText(owner(room)).waitFor()
  }
  await api(reps['401'].token, 'POST', `/elections/${electionId}/candidates`, {
    user_id: reps[E].userId, source: 'residents', name: owner(E), statement: '热心楼道卫生', nominators: [reps['401'].userId, reps['402'].userId],
  })
  await page.reload()
  const candRow = (room) => page.locator('[data-test=candidates] tr', { hasText: owner(room) })
  await candRow(E).getByText('居民推选').waitFor()
  await candRow(E).getByText('2号楼2单元401、2号楼2单元402').waitFor()

  // Vetting: every criterion passes for A–D (through the API), E's record
  // is found in the page: 有犯罪前科, with a photo as evidence.
  const cands = (await api(staff, 'GET', `/elections/${electionId}`)).candidates
  const idOf = (room) => cands.find((c) => c.name === owner(room)).id
  for (const room of [A, B, C, D, E]) {
    const cl = await api(staff, 'GET', `/candidates/${idOf(room)}/checklist`)
    for (const code of cl.to_check) {
      if (room === E && code === 'criminal_record') continue
      await api(staff, 'PUT', `/candidates/${idOf(room)}/findings/${code}`, { pass: true, note: '经社区走访核实' })
    }
  }
  await page.reload()
  await page.click(`[data-test="vet-${owner(E)}"]`)
  const crit = page.locator('[data-test="criterion-有犯罪前科"]')
  await crit.getByText('依据：', { exact: false }).waitFor()
  await crit.getByText('不符合', { exact: true }).click()
  await crit.locator('input[placeholder=核查说明]').fill('派出所出具的记录')
  await crit.locator('input[type=file]').setInputFiles({ name: '证明.png', mimeType: 'image/png', buffer: png(30) })
  await crit.getByRole('button', { name: '保存' }).click()
  await page.locator('[data-test=checklist-eligibility]').getByText('不符合条件').waitFor()
  await crit.getByText('（附证明材料）', { exact: false }).waitFor()
  await plain(page, 'checklist')
  await shot(page, '34-candidate-checklist')

  // E appeals once (in the mini-program); the finder may not decide it.
  await api(reps[E].token, 'POST', `/candidates/${idOf(E)}/appeal`, { reason: '记录有误，请复核' })
  await closeDrawer()
  await page.reload()
  await page.click(`[data-test="vet-${owner(E)}"]`)
  await page.locator('[data-test=appeal-who]').getByText('桐本北路社区网格员', { exact: false }).waitFor()
  await page.locator('[data-test=appeal-upheld]').getByText('维持原认定').click()
  await page.fill(area('appeal-note'), '经复核，记录属实')
  await page.click('[data-test=appeal-decide]')
  await page.locator('.el-message').getByText('申诉须由作出原审查结论以外的工作人员复核').waitFor()
  await plain(page, 'appeal refused')
  await closeDrawer()

  // The second staff member decides it.
  log('appeal decided by a second staff member')
  await page.click('[data-test=logout]')
  await page.waitForURL(/\/console\/login/)
  await login('fuhe', 'guangming-pass-1')
  await page.goto(url('/elections/' + electionId))
  await page.click(`[data-test="vet-${owner(E)}"]`)
  await page.locator('[data-test=appeal-upheld]').getByText('维持原认定').click()
  await page.fill(area('appeal-note'), '经复核，记录属实')
  await page.click('[data-test=appeal-decide]')
  await page.locator('[data-test=appeal-decided]').getByText('维持原认定').waitFor()
  await page.locator('[data-test=appeal-decided]').getByText('复核员', { exact: false }).waitFor()
  await shot(page, '35-appeal-decided')
  await closeDrawer()

  // Publish; the ineligible candidate cannot be put on the ballot.
  await page.click('[data-test=publish-candidates]')
  await page.locator('[data-test=election-status]').getByText('候选人已公布').waitFor()
  const form = page.locator('[data-test=ballot-form]')
  for (const room of [A, B, C, D, E]) await form.locator('.el-checkbox', { hasText: owner(room) }).click()
  // The ballot's times: no notice or objection days, voting opens soon.
  const times = async () => {
    await page.locator(inp('ballot-notice-days')).fill('0')
    await page.locator(inp('ballot-objection-days')).fill('0')
    const opens = new Date(Date.now() + 25000)
    const closes = new Date(opens.getTime() + 30000)
    for (const [sel, d] of [['[data-test=ballot-opens]', opens], ['[data-test=ballot-closes]', closes]]) {
      const input = page.locator(`${sel} input`).first()
      await input.fill(chinaTime(d))
      await input.press('Enter')
    }
    await page.locator('.sub', { hasText: '生成选票' }).click()
    return { opens, closes }
  }
  // ballot publishes the election's current motion in the motion page,
  // has the 12 voters vote through the API as picks(i) says, and closes
  // and finalizes it; back on the election page.
  const voters = ['101', '102', '201', '202', '301', '302', '401', '402', '501', '502', '601', '602']
  let lastMotion = 0
  const ballot = async ({ opens, closes }, picks) => {
    await page.locator('[data-test=election-status]').getByText('投票阶段').waitFor()
    let motionId = lastMotion
    for (let i = 0; i < 40 && motionId === lastMotion; i++) {
      await sleep(250)
      motionId = (await api(staff, 'GET', `/elections/${electionId}`)).election.motion_id || lastMotion
    }
    assert.notEqual(motionId, lastMotion, 'a new ballot was drawn')
    lastMotion = motionId
    await page.locator(`[data-test=ballot-motion][href$="/motions/${motionId}"]`).click()
    await page.waitForURL(new RegExp(`/console/motions/${motionId}$`))
    await page.click('[data-test=step-publish]')
    await page
      .locator('[data-test=motion-status]')
      .getByText('公示中')
      .waitFor({ timeout: 8000 })
      .catch(async () => assert.fail('publish refused: ' + (await apiCall(base, staff, 'POST', `/motions/${motionId}/publish`).catch((e) => e.message))))
    await sleep(Math.max(0, opens.getTime() - Date.now() + 1500))
    for (let i = 0; i < 20; i++) {
      if ((await api(staff, 'GET', `/motions/${motionId}`)).motion.status === 'voting') break
      await apiCall(base, staff, 'POST', `/motions/${motionId}/open`).catch(() => {})
      await sleep(500)
    }
    const motion = (await api(staff, 'GET', `/motions/${motionId}`)).motion
    assert.equal(motion.status, 'voting')
    assert.ok(!motion.options.some((o) => o.label === owner(E)), 'the ineligible candidate is on the ballot')
    const key = (room) => motion.options.find((o) => o.label === owner(room)).key
    for (const [i, room] of voters.entries()) {
      await api(reps[room].token, 'POST', `/motions/${motionId}/ballots`, { household_id: reps[room].household.id, options: picks(i).map(key) })
    }
    await sleep(Math.max(0, closes.getTime() - Date.now() + 1500))
    for (const step of ['close', 'finalize']) {
      for (let i = 0; i < 20; i++) {
        const st = (await api(staff, 'GET', `/motions/${motionId}`)).motion.status
        if ((step === 'close' && st !== 'voting') || st === 'final') break
        await apiCall(base, staff, 'POST', `/motions/${motionId}/${step}`).catch(() => {})
        await sleep(500)
      }
    }
    await page.goto(url('/elections/' + electionId))
  }

  let when = await times()
  await page.click('[data-test=draw-ballot]')
  await page.locator('[data-test=ballot-error]').getByText(`${owner(E)}未通过资格审查`, { exact: false }).waitFor()
  await plain(page, 'ballot refused')
  await shot(page, '36-ballot-refused')
  await form.locator('.el-checkbox', { hasText: owner(E) }).click()
  when = await times()
  await page.click('[data-test=draw-ballot]')

  // Ballot 1 ties at the third seat (A 12, B 9, C 6, D 6): nothing decided.
  log('election: a tie at the last seat')
  await ballot(when, (i) => (i < 6 ? [A, B, C] : i < 9 ? [A, B, D] : [A, D]))
  const runOff = page.locator('[data-test=run-off]')
  await runOff.getByText('需要再次选举（并列）', { exact: false }).waitFor()
  await runOff.getByText(`${owner(C)}、${owner(D)}`, { exact: false }).waitFor()
  assert.equal(await page.locator('[data-test=confirm-form]').count(), 0, 'a tie can be confirmed')
  await plain(page, 'election tie')
  await runOff.scrollIntoViewIfNeeded()
  await shot(page, '37-election-tie')

  // Ballot 2, the run-off, drawn from the same page: A 12, B 10, C 8, D 4.
  log('election: the run-off')
  when = await times()
  await page.click('[data-test=draw-ballot]')
  await ballot(when, (i) => (i < 8 ? [A, B, C] : i < 10 ? [A, B, D] : [A, D]))

  // The result: the right three; confirmation makes them the new term.
  log('election result')
  const elected = page.locator('[data-test=elected]')
  await elected.waitFor()
  const names = await elected.locator('b').allTextContents()
  assert.deepEqual([...names].sort(), [owner(A), owner(B), owner(C)].sort(), `elected ${names}`)
  await page.locator('[data-test=tally]').waitFor()
  await plain(page, 'election result')
  await shot(page, '38-election-result')
  await page.locator('[data-test=confirm-chair]').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: owner(A) }).click()
  await page.click('[data-test=confirm]')
  await page.locator('[data-test=confirmed]').waitFor()
  await page.goto(url('/councils/' + councilId))
  const term = page.locator('[data-test=term]').first()
  for (const room of [A, B, C]) await term.getByText(owner(room)).waitFor()
  await term.getByText('本届').waitFor()
  await shot(page, '39-council-new-term')

  // --- An opinion, answered and resolved by staff.
  log('opinion')
  const building2 = reps[A].household.building_id
  const op = await api(reps[A].token, 'POST', '/courtyards/1/opinions', { category: 'repair', body: '2号楼2单元楼道灯坏了，晚上看不见台阶', building_id: building2, public: true })
  await page.click('text=居民意见')
  const opRow = page.locator('[data-test=opinions] tr', { hasText: '楼道灯坏了' })
  await opRow.getByText('已收到').waitFor()
  await opRow.getByText('2号楼', { exact: true }).waitFor()
  await opRow.getByText('楼道灯坏了', { exact: false }).click()
  const drawer = page.locator('[data-test=opinion-detail]')
  await page.fill(area('reply-body'), '已联系物业，本周内更换')
  await page.locator('[data-test=reply-status]').getByText('处理中').click()
  await page.click('[data-test=reply-send]')
  await drawer.locator('[data-test=opinion-status]').getByText('处理中').waitFor()
  await page.fill(area('reply-body'), '灯已换好')
  await page.locator('[data-test=reply-status]').getByText('已解决').click()
  await page.click('[data-test=reply-send]')
  await drawer.locator('[data-test=opinion-status]').getByText('已解决').waitFor()
  await drawer.locator('[data-test=replies]').getByText('灯已换好', { exact: false }).waitFor()
  await plain(page, 'opinion')
  await shot(page, '40-opinion')
  await api(reps[A].token, 'POST', `/opinions/${op.id}/rating`, { rating: 5 })
  assert.equal((await api(staff, 'GET', `/opinions/${op.id}`)).opinion.status, 'resolved')

  // --- A survey opened in the page; three households answer; the
  // community's councils compared.
  log('survey')
  await closeDrawer()
  await page.click('text=满意度测评')
  await page.locator('[data-test=comparison]').getByText('东风小区楼院理事会').waitFor()
  await page.click('[data-test=survey-new]')
  await page.fill(inp('survey-title'), '2026年理事会工作满意度测评')
  await page.click('[data-test=survey-save]')
  await page.locator('[data-test=survey]').getByText('2026年理事会工作满意度测评').waitFor()
  const survey = (await api(staff, 'GET', `/councils/${councilId}/surveys`)).surveys[0]
  for (const [room, q1, q2] of [[A, 5, 5], [B, 4, 5], [C, 3, 5]]) {
    await api(reps[room].token, 'POST', `/surveys/${survey.id}/responses`, { household_id: reps[room].household.id, answers: [{ rating: q1 }, { rating: q2 }, { text: '希望多开会' }] })
  }
  await page.reload()
  let svgText = []
  for (let i = 0; i < 50 && !svgText.includes('4.5'); i++) {
    await sleep(200)
    svgText = await page.locator('[data-test=survey-chart] svg text').allTextContents()
  }
  const compared = (await api(staff, 'GET', '/communities/1/survey-comparison')).councils
  const ours = compared.find((c) => c.council_id === councilId)
  assert.equal(ours.latest.responses, 3)
  assert.equal(ours.latest.average, 4.5) // (4 + 5) / 2, the question averages' mean
  assert.ok(svgText.includes('4.5'), `the bar's label: ${svgText}`)
  for (const c of compared) assert.ok(svgText.includes(c.name), `axis label ${c.name}: ${svgText}`)
  const row = page.locator('[data-test=comparison] tr', { hasText: '铝厂小区楼院理事会' })
  await row.getByText('3 户').waitFor()
  await row.getByText('4.5', { exact: true }).waitFor()
  await page.locator('[data-test=comparison] tr', { hasText: '东风小区楼院理事会' }).getByText('还没有测评').waitFor()
  await page.locator('[data-test=survey-average]').getByText('4.5').waitFor()
  await plain(page, 'surveys')
  await shot(page, '41-surveys')

  // --- The council's activity on the dashboard, as the server counted it.
  log('council activity')
  await page.goto(url('/dashboard?council=' + councilId))
  const act = (await api(staff, 'GET', `/councils/${councilId}/activity`)).activity
  assert.ok(act.motions.total >= 1 && act.notices.sent >= 1)
  assert.equal(act.opinions.resolved, 1)
  const box = (name) => page.locator(`[data-test=activity-${name}]`)
  await box('notices').getByText(`已发送 ${act.notices.sent} 条`).waitFor()
  await box('notices').getByText(`已读 ${act.notices.read} 人次`, { exact: false }).waitFor()
  await box('motions').getByText(`共 ${act.motions.total} 项：通过 ${act.motions.passed}，未通过 ${act.motions.failed}`).waitFor()
  await box('opinions').getByText(`收到 ${act.opinions.received} 条，已解决 1 条`, { exact: false }).waitFor()
  await box('opinions').getByText('平均 5 分', { exact: false }).waitFor()
  const surveysRow = page.locator('[data-test=activity-surveys] tr', { hasText: '2026年理事会工作满意度测评' })
  await surveysRow.getByText('3 户').waitFor()
  await surveysRow.getByText('4.5').waitFor()
  await plain(page, 'dashboard activity')
  await page.locator('[data-test=council-activity]').scrollIntoViewIfNeeded()
  await shot(page, '42-dashboard-council-activity')

  // --- The motion form: every rule in plain words, the server's message
  // beside the field it concerns.
  log('motion form rules')
  await page.click('text=表决事项')
  await page.click('[data-test=motion-new]')
  await page.fill(inp('motion-title'), '2号楼2单元楼长选举')
  await page.locator('[data-test=motion-rule]').getByText('自定义比例').click()
  await page.locator('[data-test=rule-words]').getByText('管理规约另有约定', { exact: false }).waitFor()
  await page.getByText('同意的业主人数（占参与者）').waitFor()
  await page.locator('[data-test=motion-rule]').getByText('选举').click()
  await page.locator('[data-test=rule-words]').getByText('最后一席并列时需再次选举', { exact: false }).waitFor()
  await page.locator(inp('motion-seats')).fill('5')
  await page.fill(area('motion-candidates'), '张三\n李四')
  await page.click('[data-test=motion-save]')
  await page.locator('.el-form-item', { hasText: '应选人数' }).locator('.el-form-item__error').getByText('应选人数须在1和候选人数之间').waitFor()
  await plain(page, 'motion form error')
  await shot(page, '43-motion-form-election')
}
