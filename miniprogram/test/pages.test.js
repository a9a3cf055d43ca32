// Every page: opened with realistic data (answers recorded from the real
// server), its main action tapped, and what the person sees asserted.
// Half of the pages run with wx answering through callbacks, half through
// returned Promises.
const { openPage, useWx, flush, text, tap, type, isDisabled } = require('./helpers')
const fx = name => JSON.parse(JSON.stringify(require(`./fixtures/${name}.json`)))

const ME = { kind: 'user', id: 3, name: '', grants: [] }
const CHAIR = { kind: 'user', id: 1, name: '', grants: [{ role: 'council_chair', scope_type: 'courtyard', scope_id: 1 }] }
const base = () => ({
  'GET /api/v1/me': ME,
  'GET /api/v1/me/households': fx('households'),
  'GET /api/v1/me/notices/unread': { unread: 2 },
  'GET /api/v1/me/motions': fx('mymotions'),
  'GET /api/v1/motions/1': fx('motion'),
  'GET /api/v1/me/delegations': { given: [], held: [] },
  'GET /api/v1/me/petitions': { petitions: [] },
  'GET /api/v1/petitions/1': fx('petition'),
  'GET /api/v1/me/notices': fx('inbox'),
  'POST /api/v1/me/subscriptions': { subscriptions: [] },
})

describe.each(['callback', 'promise'])('wx in %s style', style => {
  test('home: household, unread count in words, entries; council entry only for council members', async () => {
    useWx(base(), style)
    let p = await openPage('pages/index/index')
    expect(text(p)).toContain('铝厂小区 1号楼1单元101')
    expect(text(p)).toContain('户代表')
    expect(text(p)).toContain('2 条没看')
    expect(text(p)).not.toContain('理事会工作')
    await tap(p, '投票表决')
    expect(global.wx.__navigations).toEqual(['/pages/motion/list'])
    useWx(Object.assign(base(), { 'GET /api/v1/me': CHAIR }), style)
    p = await openPage('pages/index/index')
    expect(text(p)).toContain('理事会工作')
  })

  test('home without a household offers binding; bind page binds with an invite code', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/me/households': () => (wx.__bound ? fx('households') : { households: [] }),
      'POST /api/v1/me/households': () => { wx.__bound = true; return { membership_id: 1, household_id: 1, role: 'owner', representative: true } },
    }), style)
    const home = await openPage('pages/index/index')
    expect(text(home)).toContain('您还没有绑定房屋')
    await tap(home, '用邀请码绑定房屋')
    expect(wx.__navigations).toContain('/pages/bind/bind')
    const p = await openPage('pages/bind/bind')
    expect(isDisabled(p, '绑定这套房屋')).toBe(true)
    await type(p, '.code-input', 'npqw-yjk4')
    expect(isDisabled(p, '绑定这套房屋')).toBe(false)
    await tap(p, '绑定这套房屋')
    await flush()
    expect(wx.bodyOf('POST /api/v1/me/households')).toEqual({ invite_code: 'NPQW-YJK4' })
    expect(text(p)).toContain('✓ 绑定成功')
    expect(text(p)).toContain('您已绑定：铝厂小区 1号楼1单元101')
  })

  test('bind: the server refusal is shown in its own words', async () => {
    const wx = useWx(Object.assign(base(), {
      'POST /api/v1/me/households': { __status: 409, body: { error: { code: 'invite_code_used', message: '该邀请码已被使用，请联系理事会' } } },
    }), style)
    const p = await openPage('pages/bind/bind')
    await type(p, '.code-input', 'X')
    await tap(p, '绑定这套房屋')
    expect(wx.__modals.map(m => m.content)).toEqual(['该邀请码已被使用，请联系理事会'])
  })

  test('my household: room, area, owners, members, representative', async () => {
    useWx(base(), style)
    const p = await openPage('pages/household/household')
    expect(text(p)).toContain('第 1 层 · 面积 62.35 平方米')
    expect(text(p)).toContain('业主：王春芬')
    expect(text(p)).toContain('户代表（替全户投票、签字）')
    expect(text(p)).toContain('绑定手机号')
  })

  test('motions list: status and my household status in words', async () => {
    useWx(base(), style)
    const p = await openPage('pages/motion/list')
    expect(text(p)).toContain('1号楼加装电梯')
    expect(text(p)).toContain('投票中')
    expect(text(p)).toContain('本户已投票')
    await tap(p, '1号楼加装电梯')
    expect(global.wx.__navigations).toEqual(['/pages/motion/detail?id=1'])
  })

  test('motion detail: tally as bars and words; vote goes through a confirmation that restates the choice', async () => {
    const routes = base()
    const mm = fx('mymotions'); mm.motions[0].household_status = 'not_voted'
    routes['GET /api/v1/me/motions'] = mm
    routes['POST /api/v1/motions/1/ballots'] = { motion_id: 1, household_id: 1, receipt: '6FKNWR66HFYC', channel: 'self', cast_at: '2026-12-07T12:55:15Z' }
    const wx = useWx(routes, style)
    const p = await openPage('pages/motion/detail', { id: '1' })
    const s = text(p)
    expect(s).toContain('状态：投票中（重大事项，记名）')
    expect(s).toContain('参加投票的还差 36 户 / 2485.28 平方米 才够')
    expect(s).toContain('还差 2485.28 平方米 才能够参加面积')
    expect(s).toContain('要求三分之二以上')
    expect(s).toContain('✓ 已够同意人数')
    expect(s).toContain('同意：1 户，62.35 平方米')
    expect(isDisabled(p, '投下这一票')).toBe(true)
    await tap(p, '同意')
    expect(isDisabled(p, '投下这一票')).toBe(false)
    await tap(p, '投下这一票')
    expect(text(p)).toContain('请确认您的投票')
    expect(text(p)).toContain('您选择：同意')
    expect(text(p)).toContain('替本户投票：1号楼1单元101')
    expect(wx.requests()).not.toContain('POST /api/v1/motions/1/ballots')
    await tap(p, '确认投票')
    await flush()
    expect(wx.bodyOf('POST /api/v1/motions/1/ballots')).toEqual({ household_id: 1, options: ['agree'] })
    expect(wx.__calls.find(c => c.name === 'requestSubscribeMessage').opts.tmplIds).toEqual(['demo-motion_result'])
    expect(wx.__navigations).toContain('/pages/motion/receipt?code=6FKNWR66HFYC')
  })

  test('motion detail, secret ballot still open: participation only, no option figures, nothing about passing', async () => {
    const routes = base()
    routes['GET /api/v1/motions/1'] = fx('motion_secret_open')
    useWx(routes, style)
    const p = await openPage('pages/motion/detail', { id: '1' })
    const s = text(p)
    expect(s).toContain('参加投票的还差 36 户 / 2485.28 平方米 才够')
    expect(s).toContain('不记名投票：投票结束前只公布参加的户数和面积')
    expect(s).not.toMatch(/(同意|反对|弃权)：/)
    expect(s).not.toContain('✓ 已够同意')
  })

  test('motion detail, secret ballot closed: heads per option and the area only as a share', async () => {
    const routes = base()
    routes['GET /api/v1/motions/1'] = fx('motion_secret_closed')
    useWx(routes, style)
    const p = await openPage('pages/motion/detail', { id: '1' })
    const s = text(p)
    expect(s).toContain('✓ 已通过')
    expect(s).toContain('同意：39.5 人，面积占参加投票的不少于 3/4')
    expect(s).toContain('反对：3 人')
    expect(s).toContain('✓ 已够同意面积')
    expect(s).not.toMatch(/(同意|反对|弃权)：\d+ 户/)
  })

  test('motion detail: a proxy votes for all held households', async () => {
    const routes = base()
    routes['GET /api/v1/me/delegations'] = { given: [], held: [{ id: 1, courtyard_id: 1, household_id: 2, proxy_user_id: 3, motion_id: 1, status: 'active' }, { id: 2, courtyard_id: 1, household_id: 5, proxy_user_id: 3, until: '2027-03-01T00:00:00Z', status: 'active' }] }
    routes['POST /api/v1/motions/1/proxy-ballots'] = { results: [{ household_id: 2, receipt: { receipt: 'XEDAK4WCHHNA' } }, { household_id: 5, error: { code: 'household_voted_itself', message: '这户已经自己投票，以这户的票为准' } }] }
    const wx = useWx(routes, style)
    const p = await openPage('pages/motion/detail', { id: '1' })
    await tap(p, '反对')
    await tap(p, '替受托的 2 户投票')
    expect(text(p)).toContain('替您受托的 2 户投票')
    await tap(p, '确认投票')
    await flush()
    expect(wx.bodyOf('POST /api/v1/motions/1/proxy-ballots')).toEqual({ household_ids: [2, 5], options: ['oppose'] })
    expect(text(p)).toContain('户号 2：✓ 已投，回执 XEDAK4WCHHNA')
    expect(text(p)).toContain('户号 5：没投成，这户已经自己投票，以这户的票为准')
  })

  test('receipt: shows the code and checks it', async () => {
    const wx = useWx(Object.assign(base(), { 'GET /api/v1/receipts/6FKNWR66HFYC': fx('receipt') }), style)
    const p = await openPage('pages/motion/receipt', { code: '6FKNWR66HFYC' })
    expect(text(p)).toContain('✓ 您的票已投出')
    expect(text(p)).toContain('6FKNWR66HFYC')
    await tap(p, '核对这张回执')
    expect(wx.requests()).toContain('GET /api/v1/receipts/6FKNWR66HFYC')
    expect(text(p)).toContain('✓ 这张票已计入')
    expect(text(p)).toContain('选择：同意')
  })

  test('delegations: my proxy code; accept a pending one after confirming', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/me/delegations': fx('medeleg_wang'),
      'POST /api/v1/delegations/1/accept': { id: 1, status: 'active' },
    }), style)
    const p = await openPage('pages/delegation/list')
    expect(text(p)).toContain('受托码 3')
    expect(text(p)).toContain('户号 2 委托您投票')
    expect(text(p)).toContain('等待受托人接受')
    await tap(p, '接受委托')
    expect(text(p)).toContain('接受户号 2 的委托')
    await tap(p, '确认接受')
    await flush()
    expect(wx.bodyOf('POST /api/v1/delegations/1/accept')).toEqual({ accept: true })
  })

  test('delegations: revoke a given one', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/me/delegations': { given: [{ id: 7, household_id: 1, proxy_user_id: 4, motion_id: 1, status: 'active' }], held: [] },
      'POST /api/v1/delegations/7/revoke': { id: 7, status: 'revoked' },
    }), style)
    const p = await openPage('pages/delegation/list')
    expect(text(p)).toContain('委托生效中')
    await tap(p, '撤销这项委托')
    expect(text(p)).toContain('撤销后，受托人替您投的票作废')
    await tap(p, '确认撤销')
    await flush()
    expect(wx.requests()).toContain('POST /api/v1/delegations/7/revoke')
  })

  test('delegate: choose household and motion, type the proxy code, confirm', async () => {
    const wx = useWx(Object.assign(base(), { 'POST /api/v1/delegations': { id: 9, status: 'pending' } }), style)
    const p = await openPage('pages/delegation/create')
    expect(isDisabled(p, '下一步：确认委托')).toBe(true)
    await type(p, '.input', '4')
    await tap(p, '下一步：确认委托')
    expect(text(p)).toContain('委托给：受托码 4 的人')
    expect(text(p)).toContain('只限这项表决：1号楼加装电梯')
    await tap(p, '确认委托')
    await flush()
    expect(wx.bodyOf('POST /api/v1/delegations')).toEqual({ household_id: 1, proxy_user_id: 4, motion_id: 1 })
    expect(text(p)).toContain('✓ 委托已发出')
  })

  test('petitions list and detail with progress in words; sign is the main action', async () => {
    const mine = fx('mypetitions'); delete mine.petitions[0].signature
    useWx(Object.assign(base(), { 'GET /api/v1/me/petitions': mine }), style)
    const l = await openPage('pages/petition/list')
    expect(text(l)).toContain('1号楼1单元加装电梯征求意见')
    expect(text(l)).toContain('本户还没签')
    const p = await openPage('pages/petition/detail', { id: '1' })
    expect(text(p)).toContain('还差 37 户 / 2485.28 平方米 签字才够')
    expect(text(p)).toContain('1 / 56 户')
    await tap(p, '我要签字')
    expect(global.wx.__navigations).toContain('/pages/petition/sign?id=1')
  })

  test('petition detail: signed household can withdraw after confirming', async () => {
    const wx = useWx(Object.assign(base(), { 'GET /api/v1/me/petitions': fx('mypetitions'), 'DELETE /api/v1/petitions/1/signatures/1': { __status: 204 } }), style)
    const p = await openPage('pages/petition/detail', { id: '1' })
    expect(text(p)).toContain('✓ 本户已签字')
    await tap(p, '撤回本户的签字')
    await tap(p, '确认撤回')
    await flush()
    expect(wx.requests()).toContain('DELETE /api/v1/petitions/1/signatures/1')
  })

  test('sign: typed name + drawn signature → confirmation → PNG upload → signature', async () => {
    const mine = fx('mypetitions'); delete mine.petitions[0].signature
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/me/petitions': mine,
      'POST /api/v1/files': { key: 'signature-abc.png', purpose: 'signature' },
      'POST /api/v1/petitions/1/signatures': { petition_id: 1, household_id: 1 },
    }), style)
    const p = await openPage('pages/petition/sign', { id: '1' })
    expect(text(p)).toContain('房屋：1号楼1单元101')
    expect(isDisabled(p, '下一步：确认签字')).toBe(true)
    await type(p, '.input', '王春芬')
    const pad = p.querySelector('#pad').querySelector('#pad')
    pad.dispatchEvent('touchstart', { touches: [{ x: 5, y: 5 }] })
    pad.dispatchEvent('touchmove', { touches: [{ x: 50, y: 40 }] })
    await flush()
    expect(isDisabled(p, '下一步：确认签字')).toBe(false)
    await tap(p, '下一步：确认签字')
    expect(text(p)).toContain('签字人：王春芬（附手写签名）')
    await tap(p, '确认签字')
    await flush(10)
    const up = wx.__calls.find(c => c.name === 'uploadFile').opts
    expect(up.formData).toEqual({ purpose: 'signature' })
    expect(up.filePath).toBe('http://tmp/signature.png')
    expect(wx.bodyOf('POST /api/v1/petitions/1/signatures')).toEqual({ household_id: 1, real_name: '王春芬', signature_file: 'signature-abc.png' })
    expect(text(p)).toContain('✓ 签字已提交')
  })

  test('notices: inbox with unread in words; subscribe asked inside the tap and reported', async () => {
    const wx = useWx(base(), style)
    const p = await openPage('pages/notice/list')
    expect(text(p)).toContain('有 2 条通知您还没看')
    expect(text(p)).toContain('● 没看')
    await tap(p, '有新通知时微信提醒我')
    await flush()
    expect(wx.bodyOf('POST /api/v1/me/subscriptions')).toEqual({ results: { 'demo-notice': 'accept' } })
  })

  test('notice detail: text, images, read receipt sent', async () => {
    const n = fx('notice_view'); n.images = ['notice_image-1.jpg']
    const wx = useWx(Object.assign(base(), { 'GET /api/v1/notices/2': n, 'POST /api/v1/notices/2/read': { __status: 204 } }), style)
    const p = await openPage('pages/notice/detail', { id: '2' })
    expect(text(p)).toContain('您收到一项投票委托')
    expect(text(p)).toContain('✓ 已告诉理事会您看过这条通知')
    expect(wx.requests()).toContain('POST /api/v1/notices/2/read')
    expect(wx.__calls.find(c => c.name === 'downloadFile').opts.header.Authorization).toBe('Bearer lya_test')
    expect(p.instance.onShareAppMessage().path).toBe('/pages/notice/detail?id=2')
  })

  test('council home: motions with turnout links, notices', async () => {
    useWx(Object.assign(base(), { 'GET /api/v1/courtyards/1/motions': fx('court_motions'), 'GET /api/v1/courtyards/1/notices': fx('court_notices') }), style)
    const p = await openPage('pages/council/index', { courtyard: '1' })
    expect(text(p)).toContain('各楼栋单元谁还没投')
    expect(text(p)).toContain('本周六停水通知')
    await tap(p, '写一条通知')
    expect(global.wx.__navigations).toContain('/pages/council/notice-new?courtyard=1')
  })

  test('council: write a notice, content check shown, sent after confirmation', async () => {
    const created = fx('notice_create')
    const wx = useWx(Object.assign(base(), {
      'POST /api/v1/notices/preview': { recipients: 12 },
      'POST /api/v1/notices': created,
      'POST /api/v1/notices/4/send': { notice: created, recipients: 12 },
    }), style)
    const p = await openPage('pages/council/notice-new', { courtyard: '1' })
    expect(isDisabled(p, '下一步：确认发送')).toBe(true)
    await type(p, '.input', '本周六停水通知')
    await type(p, '.textarea', '因管道检修，本周六8:00至12:00停水。')
    await tap(p, '下一步：确认发送')
    expect(text(p)).toContain('发给：全院 12 人')
    await tap(p, '确认发送')
    await flush()
    expect(wx.bodyOf('POST /api/v1/notices')).toEqual({ targets: [{ scope_type: 'courtyard', scope_id: 1 }], title: '本周六停水通知', body: '因管道检修，本周六8:00至12:00停水。' })
    expect(text(p)).toContain('✓ 内容检查通过')
    expect(text(p)).toContain('✓ 已发给 12 人')
  })

  test('council: a notice to one unit (stairwell), chosen from the courtyard\'s buildings and units', async () => {
    const created = fx('notice_create')
    const hh = [
      { id: 1, building_id: 1, unit_id: 1, building: '1号楼', unit: '1单元', room: '101' },
      { id: 2, building_id: 1, unit_id: 2, building: '1号楼', unit: '2单元', room: '101' },
      { id: 3, building_id: 2, unit_id: 3, building: '2号楼', unit: '1单元', room: '101' },
    ]
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/courtyards/1/households': { households: hh },
      'POST /api/v1/notices/preview': { recipients: 7 },
      'POST /api/v1/notices': created,
      'POST /api/v1/notices/4/send': { notice: created, recipients: 7 },
    }), style)
    const p = await openPage('pages/council/notice-new', { courtyard: '1' })
    await flush()
    const s = text(p)
    expect(s).toContain('全院住户')
    expect(s).toContain('1号楼（整栋）')
    expect(s).toContain('2号楼1单元')
    await type(p, '.input', '楼道清理')
    await type(p, '.textarea', '本周六上午清理1号楼2单元楼道。')
    await tap(p, '1号楼2单元')
    await tap(p, '下一步：确认发送')
    expect(text(p)).toContain('发给：1号楼2单元 7 人')
    await tap(p, '确认发送')
    await flush()
    expect(wx.bodyOf('POST /api/v1/notices').targets).toEqual([{ scope_type: 'unit', scope_id: 2 }])
  })

  test('council: who read a notice', async () => {
    useWx(Object.assign(base(), { 'GET /api/v1/notices/4/report': fx('notice_report') }), style)
    const p = await openPage('pages/council/notice-report', { id: '4' })
    expect(text(p)).toContain('已读 1 人，共发给 1 人')
    expect(text(p)).toContain('王春芬')
    expect(text(p)).toContain('没开微信提醒')
  })

  test('notice detail opened from a group card: the share info goes to the server, which counts the open', async () => {
    const n = fx('notice_view')
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/notices/2': n, 'POST /api/v1/notices/2/read': { __status: 204 },
      'POST /api/v1/notices/2/opens': { counted: true },
    }), style)
    wx.__enter = { scene: 1044, path: 'pages/notice/detail', query: { id: '2' }, shareTicket: 'TICKET-1' }
    const p = await openPage('pages/notice/detail', { id: '2' })
    expect(text(p)).toContain('您收到一项投票委托')
    expect(wx.__calls.find(c => c.name === 'getShareInfo').opts.shareTicket).toBe('TICKET-1')
    expect(wx.bodyOf('POST /api/v1/notices/2/opens')).toEqual({ encrypted_data: 'ENC', iv: 'IV' })
    expect(wx.__calls.find(c => c.name === 'showShareMenu').opts.withShareTicket).toBe(true)
  })

  test('notice detail from a group: stale share info is fetched again after a new login; a refusal never blocks reading', async () => {
    const n = fx('notice_view')
    let tries = 0
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/notices/2': n, 'POST /api/v1/notices/2/read': { __status: 204 },
      'POST /api/v1/notices/2/opens': body => (++tries === 1
        ? { __status: 400, body: { error: { code: 'share_data_invalid', message: '没能识别这个微信群' } } }
        : { counted: body.encrypted_data === 'ENC-2' }),
    }), style)
    let made = 0
    wx.__shareInfo = () => ({ errMsg: 'getShareInfo:ok', encryptedData: `ENC-${++made}`, iv: 'IV' })
    wx.__enter = { scene: 1044, shareTicket: 'TICKET-1' }
    let p = await openPage('pages/notice/detail', { id: '2' })
    await flush()
    expect(wx.requests().filter(r => r === 'POST /api/v1/auth/wechat/login')).toHaveLength(1)
    expect(wx.bodyOf('POST /api/v1/notices/2/opens')).toEqual({ encrypted_data: 'ENC-2', iv: 'IV' })
    expect(wx.__modals).toEqual([])

    wx.__routes['POST /api/v1/notices/2/opens'] = { __status: 400, body: { error: { code: 'group_not_linked', message: '本楼院还没有关联微信群' } } }
    p = await openPage('pages/notice/detail', { id: '2' })
    expect(text(p)).toContain('您收到一项投票委托')
    expect(wx.__modals).toEqual([])
  })

  test('notice detail opened normally asks for no share info', async () => {
    const wx = useWx(Object.assign(base(), { 'GET /api/v1/notices/2': fx('notice_view'), 'POST /api/v1/notices/2/read': { __status: 204 } }), style)
    await openPage('pages/notice/detail', { id: '2' })
    expect(wx.__calls.some(c => c.name === 'getShareInfo')).toBe(false)
    expect(wx.requests()).not.toContain('POST /api/v1/notices/2/opens')
  })

  test('council home opened from a group card: link the group; the report counts opens from it', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/me': CHAIR,
      'GET /api/v1/courtyards/1/motions': fx('court_motions'), 'GET /api/v1/courtyards/1/notices': fx('court_notices'),
      'GET /api/v1/courtyards/1/wechat-group': { courtyard_id: 1, linked: false },
      'POST /api/v1/courtyards/1/wechat-group': { courtyard_id: 1, linked: true, linked_by: 'user:1', linked_at: '2026-12-07T12:55:26Z', changed: true },
      'GET /api/v1/notices/4/report': fx('notice_report'),
    }), style)
    wx.__enter = { scene: 1044, shareTicket: 'TICKET-G' }
    const p = await openPage('pages/council/index', { courtyard: '1' })
    expect(text(p)).toContain('还没有关联楼院微信群')
    expect(text(p)).toContain('您是从微信群里打开的小程序')
    await tap(p, '关联本群')
    await flush()
    expect(wx.__calls.find(c => c.name === 'getShareInfo').opts.shareTicket).toBe('TICKET-G')
    expect(wx.bodyOf('POST /api/v1/courtyards/1/wechat-group')).toEqual({ encrypted_data: 'ENC', iv: 'IV' })
    expect(text(p)).toContain('✓ 已把这个群关联为本楼院的微信群')
    expect(text(p)).toContain('已关联楼院微信群（2026年12月7日')
    expect(text(p)).not.toContain('关联本群')

    const r = await openPage('pages/council/notice-report', { id: '4' })
    expect(text(r)).toContain('从楼院微信群打开过的：1 人')
  })

  test('council home outside a group explains how to link; a refusal is shown in the server\'s words', async () => {
    const routes = Object.assign(base(), {
      'GET /api/v1/courtyards/1/motions': fx('court_motions'), 'GET /api/v1/courtyards/1/notices': fx('court_notices'),
      'GET /api/v1/courtyards/1/wechat-group': { courtyard_id: 1, linked: false },
      'POST /api/v1/courtyards/1/wechat-group': { __status: 409, body: { error: { code: 'wechat_group_taken', message: '这个微信群已关联到另一个楼院' } } },
    })
    let wx = useWx(routes, style)
    let p = await openPage('pages/council/index', { courtyard: '1' })
    expect(text(p)).toContain('关联方法：把一条通知转发到楼院微信群')
    expect(text(p).split('关联本群').length - 1).toBe(1) // the hint's words, no button
    wx = useWx(routes, style)
    wx.__enter = { scene: 1044, shareTicket: 'TICKET-G' }
    p = await openPage('pages/council/index', { courtyard: '1' })
    await tap(p, '关联本群')
    await flush()
    expect(wx.__modals.map(m => m.content)).toEqual(['这个微信群已关联到另一个楼院'])
  })

  test('motion detail and a new notice share cards with a share ticket', async () => {
    const wx = useWx(base(), style)
    const m = await openPage('pages/motion/detail', { id: '1' })
    expect(m.instance.onShareAppMessage().path).toBe('/pages/motion/detail?id=1')
    const nn = await openPage('pages/council/notice-new', { courtyard: '1' })
    expect(nn.instance.onShareAppMessage().title).toBe('楼院通知')
    const menus = wx.__calls.filter(c => c.name === 'showShareMenu').map(c => c.opts.withShareTicket)
    expect(menus).toEqual([true, true])
  })

  test('council: turnout by building and unit lists who has not voted', async () => {
    useWx(Object.assign(base(), { 'GET /api/v1/motions/1/turnout': fx('turnout') }), style)
    const p = await openPage('pages/council/turnout', { id: '1' })
    expect(text(p)).toContain('1号楼1单元：已投 1 户，共 14 户')
    expect(text(p)).toMatch(/还没投：102、201/)
  })

  test('council: paper ballot with a photo from chooseMedia, confirmed', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/motions/1/turnout': fx('turnout'),
      'POST /api/v1/files': { key: 'paper_ballot-1.jpg' },
      'POST /api/v1/motions/1/paper-ballots': { receipt: 'R' },
    }), style)
    const p = await openPage('pages/council/paper-ballot', { id: '1' })
    expect(text(p)).toContain('1号楼1单元102')
    await tap(p, '反对')
    expect(isDisabled(p, '下一步：确认录入')).toBe(true)
    await tap(p, '点这里拍照')
    expect(text(p)).toContain('✓ 已拍照')
    await tap(p, '下一步：确认录入')
    expect(text(p)).toContain('纸质票上选的是：反对')
    await tap(p, '确认录入')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/motions/1/paper-ballots')).toEqual({ household_id: 2, options: ['oppose'], photo: 'paper_ballot-1.jpg' })
    expect(text(p)).toContain('✓ 已录入 1号楼1单元102 的纸质票')
  })

  test('a failed load is never a blank page: message and retry', async () => {
    const wx = useWx(Object.assign(base(), { 'GET /api/v1/me/motions': { __network_error: true } }), style)
    const p = await openPage('pages/motion/list')
    await new Promise(r => setTimeout(r, 1000)) // the one retry waits 800 ms
    await flush()
    expect(text(p)).toContain('网络连接不上，请检查手机网络后点“重试”。')
    wx.__routes['GET /api/v1/me/motions'] = fx('mymotions')
    await tap(p, '重试')
    await flush()
    expect(text(p)).toContain('1号楼加装电梯')
  })
})
