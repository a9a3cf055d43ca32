/**
 * @jest-environment node
 */
// The contract test: the mini-program's own request module (utils/api.js)
// in Node, with wx.request / wx.uploadFile / wx.login backed by real HTTP
// against the Go server in its embedded default (SQLite, in-process Redis,
// fake WeChat that accepts login codes "<user>.<anything>", demo courtyard
// with invite codes). login → bind → vote → delegate and vote as proxy →
// sign with a drawn signature PNG → read a notice → share a notice into a
// group and open it from there.
//
// wx.getShareInfo cannot run outside WeChat: here it asks the embedded
// server's built-in fake WeChat API, whose development-only route
// (/louyuan-fake/share-info, URL in <data>/fake-wechat-url) encrypts the
// share info as WeChat does, under the person's current session key. That
// route and file exist only while the built-in fake runs (no WeChat app
// configured), never in production.
const { useServer, person, as, signaturePng, iso, invites: demoInvites } = require('./contract-env')

useServer()

test('login → bind → vote → delegate and vote as proxy → sign → read a notice → share it into a group and open it from there', async () => {
  const invites = demoInvites()
  const wang = person('wang'), zhao = person('zhao'), chair = person('lizhang')

  // login and bind
  const me = await as(wang, api => api.me())
  expect(me.kind).toBe('user')
  const bound = await as(wang, api => api.bindWithInvite(invites[0][3]))
  expect(bound.representative).toBe(true)
  const hh = await as(wang, api => api.myHouseholds())
  expect(hh.households[0]).toMatchObject({ building: '1号楼', unit: '1单元', room: '101', representative: true })
  const again = await as(wang, api => api.bindWithInvite(invites[0][3]).catch(e => e))
  expect(again.name).toBe('ApiError')
  expect(again.message).toMatch(/[\u4e00-\u9fa5]/) // the server's Chinese message, as is

  // the council opens a major-matter vote
  const m = await as(chair, api => api.request('POST', '/api/v1/courtyards/1/motions', {
    scope_type: 'courtyard', title: '1号楼加装电梯', body: '拟在1号楼1单元加装电梯。', rule: 'major', ballot_mode: 'named',
    notice_days: 0, objection_days: 7, opens_at: iso(1500), closes_at: iso(3600e3),
  }))
  await as(chair, api => api.request('POST', `/api/v1/motions/${m.id}/publish`))
  let status = ''
  for (let i = 0; i < 60 && status !== 'voting'; i++) {
    await new Promise(r => setTimeout(r, 500))
    status = (await as(wang, api => api.motion(m.id))).motion.status
  }
  expect(status).toBe('voting')

  // wang votes and checks the receipt
  const mine = await as(wang, api => api.myMotions())
  expect(mine.motions.find(x => x.motion.id === m.id).household_status).toBe('not_voted')
  const r = await as(wang, api => api.castBallot(m.id, hh.households[0].id, ['agree']))
  const check = await as(wang, api => api.checkReceipt(r.receipt))
  expect(check).toMatchObject({ counted: true, options: ['agree'] })
  const detail = await as(wang, api => api.motion(m.id))
  expect(detail.tally.voted.households).toBe(1)
  expect(detail.tally.participation_head).toHaveProperty('needed_households')

  // zhao binds household 102 and delegates to wang, who accepts and votes as proxy
  const zb = await as(zhao, api => api.bindWithInvite(invites[1][3]))
  const d = await as(zhao, api => api.delegate({ household_id: zb.household_id, proxy_user_id: me.id, motion_id: m.id }))
  expect(d.status).toBe('pending')
  const held = await as(wang, api => api.myDelegations())
  expect(held.held.map(x => x.id)).toContain(d.id)
  const acc = await as(wang, api => api.answerDelegation(d.id, true))
  expect(acc.status).toBe('active')
  const pr = await as(wang, api => api.castProxyBallots(m.id, [zb.household_id], ['oppose']))
  expect(pr.results[0].receipt.channel).toBe('proxy')
  const zm = await as(zhao, api => api.myMotions())
  expect(zm.motions.find(x => x.motion.id === m.id).household_status).toBe('voted_by_proxy')

  // the council opens a petition; wang signs with a drawn signature
  const p = await as(chair, api => api.request('POST', '/api/v1/courtyards/1/petitions', {
    scope_type: 'courtyard', title: '1号楼1单元加装电梯征求意见', body: '请各户代表签字表态。', deadline: iso(7 * 86400e3),
    target_households: { num: 2, den: 3 },
  }))
  await as(chair, api => api.request('POST', `/api/v1/petitions/${p.id}/publish`))
  const file = await as(wang, api => api.upload(signaturePng(), 'signature'))
  expect(file).toMatchObject({ purpose: 'signature', content_type: 'image/png' })
  await as(wang, api => api.sign(p.id, { household_id: hh.households[0].id, real_name: '王春芬', signature_file: file.key }))
  const pd = await as(wang, api => api.petition(p.id))
  expect(pd.progress.signed_households).toBe(1)
  expect(pd.progress.target_households.needed_households).toBeGreaterThan(0)
  const mp = await as(wang, api => api.myPetitions())
  expect(mp.petitions.find(x => x.petition.id === p.id).signature.real_name).toBe('王春芬')

  // subscribe answers, a notice, its read receipt
  const subs = await as(wang, api => api.subscriptions())
  const tmpl = subs.subscriptions.find(s => s.kind === 'notice').template_id
  expect(tmpl).toBe(require('../config').subscribeTemplates.notice)
  await as(wang, api => api.reportSubscriptions({ [tmpl]: 'accept' }))
  const pv = await as(chair, api => api.previewNotice([{ scope_type: 'courtyard', scope_id: 1 }]))
  expect(pv.recipients).toBeGreaterThanOrEqual(2)
  const n = await as(chair, api => api.createNotice({ targets: [{ scope_type: 'courtyard', scope_id: 1 }], title: '本周六停水通知', body: '因管道检修，本周六8:00至12:00停水。' }))
  expect(n.check_result).toBe('pass')
  await as(chair, api => api.sendNotice(n.id))
  const inbox = await as(wang, api => api.myNotices())
  const item = inbox.notices.find(x => x.notice.id === n.id)
  expect(item.read_at).toBeUndefined()
  const before = (await as(wang, api => api.unreadCount())).unread
  const view = await as(wang, api => api.notice(n.id))
  expect(view.body).toContain('停水')
  await as(wang, api => api.markRead(n.id))
  expect((await as(wang, api => api.unreadCount())).unread).toBe(before - 1)
  const report = await as(chair, api => api.noticeReport(n.id))
  expect(report.read).toBeGreaterThanOrEqual(1)
  expect(report.readers.map(x => x.user_id)).toContain(me.id)

  // share the notice into the courtyard's WeChat group: the chair's card (the
  // notice page's onShareAppMessage, with a share ticket) is opened from the
  // group; the chair links the group, wang opens the notice from it
  const ticket = 'ticket:铝厂小区业主群'
  expect((await as(chair, api => api.weChatGroup(1))).linked).toBe(false)
  const g = await as(chair, (api, share) => share.linkGroup(1, ticket))
  expect(g).toMatchObject({ courtyard_id: 1, linked: true, changed: true })
  expect(JSON.stringify(g)).not.toMatch(/tG[\w-]{26}/) // the openGId stays on the server
  expect(await as(wang, (api, share) => share.countOpen(n.id, ticket))).toEqual({ counted: true })
  expect(await as(wang, (api, share) => share.countOpen(n.id, ticket))).toEqual({ counted: false })
  expect((await as(chair, api => api.noticeReport(n.id))).group_opens).toBe(1)
  // from another group: not counted, and reading is not blocked
  expect(await as(wang, (api, share) => share.countOpen(n.id, 'ticket:广场舞群'))).toBe(null)
  // zhao logs in on a second phone (WeChat gives a new session key): the
  // first phone's share info no longer decrypts, so it logs in again and retries
  await as(person('zhao'), api => api.me())
  expect(await as(zhao, (api, share) => share.countOpen(n.id, ticket))).toEqual({ counted: true })
  expect((await as(chair, api => api.noticeReport(n.id))).group_opens).toBe(2)

  // council: turnout by unit
  const t = await as(chair, api => api.turnout(m.id))
  expect(t.units[0]).toMatchObject({ building: '1号楼', unit: '1单元', voted: 2 })
}, 600000)
