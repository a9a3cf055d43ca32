/**
 * @jest-environment node
 */
// The contract test of the council screens: utils/api.js in Node against
// the real Go server (see contract-env.js). An opinion with a photo raised,
// answered and resolved by the council, rated and reopened once; a survey
// answered twice by one household (the second refused in the server's
// words); an election of 3 seats among 5 candidates (a tenant's nomination
// refused), a ballot choosing 3 of 5 with its receipt, a tie at the third
// seat flagged; a binding request found by address.
//
// LOUYUAN_RECORD_FIXTURES=1 writes the answers the pages are tested with
// to test/fixtures/ (what pages.test.js and seen-render.test.js load).
const fs = require('fs')
const path = require('path')
const { useServer, person, as, signaturePng, iso, invites: demoInvites, staff: staffSession } = require('./contract-env')

useServer()

const record = (name, data) => {
  if (process.env.LOUYUAN_RECORD_FIXTURES) fs.writeFileSync(path.join(__dirname, 'fixtures', name + '.json'), JSON.stringify(data) + '\n')
}
const refusal = p => p.then(() => { throw new Error('the server should have refused') }, e => e)
const sleep = ms => new Promise(r => setTimeout(r, ms))

test('opinions, surveys, an election and a binding request through the mini-program’s request module', async () => {
  const invites = demoInvites()
  const staff = await staffSession()
  const wang = person('wang'), zhao = person('zhao'), chair = person('lizhang')
  const [w, z] = [await as(wang, api => api.bindWithInvite(invites[0][3])), await as(zhao, api => api.bindWithInvite(invites[1][3]))]
  const whs = await as(wang, api => api.myHouseholds())
  record('my_households', whs)
  const wh = whs.households[0]
  const wangMe = await as(wang, api => api.me())
  const chairMe = await as(chair, api => api.me())

  // ---- 大家议: wang raises a public opinion with a photo, and a private one
  const photo = await as(wang, api => api.upload(signaturePng(), 'opinion_photo'))
  const op = await as(wang, api => api.raiseOpinion(1, { category: 'repair', body: '1号楼1单元楼道灯坏了一个月，晚上上下楼看不见。', building_id: wh.building_id, photos: [photo.key], public: true }))
  expect(op).toMatchObject({ status: 'received', public: true, photos: [photo.key] })
  const priv = await as(wang, api => api.raiseOpinion(1, { category: 'suggestion', body: '建议在院里装几把长椅，老人可以歇脚。', public: false }))
  const short = await refusal(as(wang, api => api.raiseOpinion(1, { category: 'repair', body: '灯', public: true })))
  expect(short.message).toMatch(/5到2000字/)
  // zhao (a neighbour) sees the public one, not the private one
  const zlist = await as(zhao, api => api.courtyardOpinions(1))
  expect(zlist.opinions.map(o => o.id)).toEqual(expect.arrayContaining([op.id]))
  expect(zlist.opinions.map(o => o.id)).not.toContain(priv.id)
  expect((await refusal(as(zhao, api => api.opinion(priv.id)))).status).toBe(404)
  expect(await as(zhao, api => api.opinionPhoto(op.id, photo.key)).catch(e => e)).toBeDefined()

  // the council: inbox, assign, reply, move forward
  const councils = await as(chair, api => api.courtyardCouncils(1))
  const councilId = councils.councils[0].id
  const council = await as(chair, api => api.council(councilId))
  record('council', council)
  const inbox = await as(chair, api => api.courtyardOpinions(1, 'received'))
  expect(inbox.opinions.map(o => o.id)).toEqual(expect.arrayContaining([op.id, priv.id]))
  record('opinion_inbox', inbox)
  await as(chair, api => api.assignOpinion(op.id, chairMe.id))
  await as(chair, api => api.answerOpinion(op.id, '已报物业，明天上午来换灯。', 'in_progress'))
  const back = await refusal(as(chair, api => api.answerOpinion(op.id, '退回', 'received')))
  expect(back.code).toBe('status_backwards')
  const resolved = await as(chair, api => api.answerOpinion(op.id, '灯已换好，请大家看看。', 'resolved'))
  expect(resolved.opinion.status).toBe('resolved')
  // a resident cannot answer
  expect((await refusal(as(zhao, api => api.answerOpinion(op.id, '我来回复')))).code).toBe('not_council')

  // wang rates, then reopens once
  const mine = await as(wang, api => api.myOpinions())
  record('opinions_mine', mine)
  record('opinions_court', await as(wang, api => api.courtyardOpinions(1)))
  record('opinion_resolved', await as(wang, api => api.opinion(op.id)))
  expect((await as(wang, api => api.rateOpinion(op.id, 4))).rating).toBe(4)
  expect((await refusal(as(wang, api => api.rateOpinion(op.id, 5)))).message).toMatch(/已经评价过/)
  const reopened = await as(wang, api => api.reopenOpinion(op.id, '换的灯又不亮了。'))
  expect(reopened.opinion).toMatchObject({ status: 'in_progress', reopened: true })
  await as(chair, api => api.answerOpinion(op.id, '换了新灯泡和开关。', 'resolved'))
  const again = await refusal(as(wang, api => api.reopenOpinion(op.id, '还是不行')))
  expect(again.code).toBe('already_reopened')
  record('opinion_reopened', await as(wang, api => api.opinion(op.id)))
  // the council turns the private suggestion into a motion draft
  const draft = await as(chair, api => api.opinionToMotion(priv.id, { scope_type: 'courtyard', title: '院内安装长椅', rule: 'ordinary', ballot_mode: 'named',
    notice_days: 7, objection_days: 7, opens_at: iso(8 * 86400e3), closes_at: iso(15 * 86400e3) }))
  expect(draft.motion.status).toBe('draft')
  expect(draft.opinion.draft_ref).toBe(`motion:${draft.motion.id}`)

  // ---- 大家评: the chair opens a survey; wang's household answers once
  const sv = await as(chair, api => api.request('POST', `/api/v1/councils/${councilId}/surveys`, {
    title: '2026年楼院理事会满意度测评',
    questions: [{ text: '理事会办事是否公开透明？', kind: 'rating' }, { text: '理事会解决问题是否及时？', kind: 'rating' }, { text: '您对理事会还有什么建议？', kind: 'text' }],
    closes_at: iso(14 * 86400e3),
  }))
  const surveys = await as(wang, api => api.councilSurveys(councilId))
  expect(surveys.surveys[0]).toMatchObject({ id: sv.id, status: 'open' })
  record('surveys', surveys)
  const before = await as(wang, api => api.survey(sv.id))
  expect(before.households_to_answer).toEqual([w.household_id])
  record('survey', before)
  const answers = [{ rating: 4 }, { rating: 5 }, { text: '希望多开几次居民会。' }]
  await as(wang, api => api.respondSurvey(sv.id, w.household_id, answers))
  const second = await refusal(as(wang, api => api.respondSurvey(sv.id, w.household_id, answers)))
  expect(second).toMatchObject({ code: 'already_answered', status: 409 })
  expect(second.message).toBe('本户已经填写过这份测评问卷，每户只能填写一份')
  const after = await as(wang, api => api.survey(sv.id))
  expect(after).toMatchObject({ answered_households: [w.household_id], households_to_answer: [] })
  record('survey_answered', after)
  expect((await as(wang, api => api.surveyResults(sv.id))).responses).toBe(1)

  // ---- the election: five candidates, three seats
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10)
  const ends = new Date(Date.now() + 8 * 3600e3 + 3 * 365 * 86400e3).toISOString().slice(0, 10)
  const el = await staff('POST', `/api/v1/councils/${councilId}/elections`, { courtyard_id: 1, scope_type: 'courtyard', title: '铝厂小区第二届楼院理事会选举',
    seats: 3, term_starts_on: today, term_ends_on: ends })
  record('elections', await as(wang, api => api.councilElections(councilId)))
  const people = [wang, zhao, person('p3'), person('p4'), person('p5')]
  const names = ['王春芬', '赵国庆', '孙丽华', '周建民', '吴秀英']
  const ids = []
  for (let i = 0; i < 5; i++) {
    if (i >= 2) await as(people[i], api => api.bindWithInvite(invites[i][3]))
    ids.push((await as(people[i], api => api.me())).id)
  }
  const cands = []
  for (let i = 0; i < 3; i++) {
    cands.push(await as(people[i], api => api.nominate(el.id, { user_id: ids[i], source: 'self', name: names[i], statement: `我是${names[i]}，退休在家，愿意为楼院出力。` })))
  }
  // p5, a household representative, nominates p4; the community nominates p5
  cands.push(await as(people[4], api => api.nominate(el.id, { user_id: ids[3], source: 'residents', name: names[3], nominators: [ids[4]], statement: '周师傅热心肠，修过全院的水管。' })))
  cands.push(await staff('POST', `/api/v1/elections/${el.id}/candidates`, { user_id: ids[4], source: 'community', name: names[4], statement: '社区推荐：退休教师。' }))
  // a tenant's nomination is refused in the server's words
  const slip = await staff('POST', '/api/v1/courtyards/1/invites?format=json', { household_ids: [Number(await householdOf(staff, invites[5]))], role: 'tenant' })
  const tenant = person('tenant')
  await as(tenant, api => api.bindWithInvite(slip.invites[0].code))
  const tmine = (await as(tenant, api => api.myHouseholds())).households[0]
  expect(tmine.role).toBe('tenant')
  const tenantId = (await as(tenant, api => api.me())).id
  const tn = await refusal(as(tenant, api => api.nominate(el.id, { user_id: ids[0], source: 'residents', name: names[0], nominators: [tenantId] })))
  expect(tn.code).toBe('nominator_not_representative')
  expect(tn.message).toMatch(/[\u4e00-\u9fa5]/)
  // the candidate sees their own standing; others see nobody before publication
  const own = await as(wang, api => api.election(el.id))
  expect(own.candidates.map(c => c.id)).toEqual([cands[0].id])
  expect(own.candidates[0].eligibility).toBe('pending')
  record('election_nominating', own)
  // staff vet, publish and draw the ballot
  for (const c of cands) {
    const cl = await staff('GET', `/api/v1/candidates/${c.id}/checklist`)
    for (const code of cl.to_check) await staff('PUT', `/api/v1/candidates/${c.id}/findings/${code}`, { pass: true, note: '经社区走访核实' })
  }
  await staff('POST', `/api/v1/elections/${el.id}/publish-candidates`)
  const opens = Date.now() + 1500
  const drawn = await staff('POST', `/api/v1/elections/${el.id}/ballot`, { ballot_mode: 'named', notice_days: 0, objection_days: 0,
    opens_at: new Date(opens).toISOString(), closes_at: new Date(opens + 12000).toISOString() })
  const mid = drawn.motion.id
  await staff('POST', `/api/v1/motions/${mid}/publish`)
  await sleep(opens - Date.now() + 200)
  await staff('POST', `/api/v1/motions/${mid}/open`)
  const pub = await as(zhao, api => api.election(el.id))
  expect(pub.candidates).toHaveLength(5)
  // findings stay with staff and the candidate: zhao sees his own standing only
  expect(pub.candidates.filter(c => c.eligibility !== undefined).map(c => c.user_id)).toEqual([ids[1]])
  expect(pub.election.motion_id).toBe(mid)
  record('election', pub)
  const md = await as(wang, api => api.motion(mid))
  expect(md.motion.rule).toMatchObject({ kind: 'election', seats: 3 })
  expect(md.motion.options).toHaveLength(5)
  record('election_motion', md)
  record('election_mymotions', await as(wang, api => api.myMotions()))
  const key = i => pub.candidates.find(c => c.id === cands[i].id).option_key
  // more than three names are refused; three of five give a receipt
  const four = await refusal(as(wang, api => api.castBallot(mid, w.household_id, [key(0), key(1), key(2), key(3)])))
  expect(four.message).toMatch(/[\u4e00-\u9fa5]/)
  const receipt = await as(wang, api => api.castBallot(mid, w.household_id, [key(0), key(1), key(2)]))
  const check = await as(wang, api => api.checkReceipt(receipt.receipt))
  expect(check.counted).toBe(true)
  expect([...check.options].sort()).toEqual([key(0), key(1), key(2)].sort())
  await as(zhao, api => api.castBallot(mid, z.household_id, [key(0), key(1), key(3)]))
  // closed and counted: 王 and 赵 2 each, 孙 and 周 tie at the third seat
  // past closes_at the server's scheduler may close and finalize it first:
  // staff step in only where it has not yet
  await sleep(opens + 12500 - Date.now())
  for (let i = 0; i < 40; i++) {
    const st = (await staff('GET', `/api/v1/motions/${mid}`)).motion.status
    if (st === 'final') break
    const step = st === 'voting' ? 'close' : 'finalize'
    await staff('POST', `/api/v1/motions/${mid}/${step}`).catch(e => { if (!/wrong_status/.test(e.message)) throw e })
    await sleep(250)
  }
  const res = await as(wang, api => api.election(el.id))
  expect(res.result.run_off_needed).toBe(true)
  expect(res.result.elected.map(c => c.name).sort()).toEqual([names[0], names[1]].sort())
  expect(res.result.tie_at_last_seat.map(c => c.name).sort()).toEqual([names[2], names[3]].sort())
  record('election_tie', res)

  // ---- a binding request without a code
  const sun = person('sun')
  const found = await as(sun, api => api.findHousehold({ courtyard: '铝厂小区', building: '2', unit: '1', room: '101' }))
  expect(found.households).toHaveLength(1)
  expect(found.households[0]).toMatchObject({ courtyard: '铝厂小区', building: '2号楼', unit: '1单元', room: '101' })
  record('household_lookup', found)
  const br = await as(sun, api => api.requestBinding(found.households[0].household_id, 'family', '孙立平', '帮父母用手机投票'))
  expect(br.status).toBe('pending')
  const dup = await refusal(as(sun, api => api.requestBinding(found.households[0].household_id, 'family', '孙立平', '')))
  expect(dup.code).toBe('request_pending')
  const reqs = await as(sun, api => api.myBindRequests())
  expect(reqs.requests[0]).toMatchObject({ id: br.id, status: 'pending', address: { building: '2号楼', room: '101' } })
  record('bind_requests', reqs)
  expect(wangMe.kind).toBe('user')
}, 600000)

// The household id of a demo invite slip's address, as staff see it.
async function householdOf(staff, slip) {
  const hs = await staff('GET', '/api/v1/courtyards/1/households')
  const [building, unit, room] = slip
  return hs.households.find(h => h.building === building && h.unit === unit && h.room === room).id
}
