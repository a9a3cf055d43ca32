// The pages of opinions (大家议), surveys (大家评), elections and binding
// without a code: opened with answers recorded from the real server
// (contract-councils.test.js with LOUYUAN_RECORD_FIXTURES=1), the main
// actions tapped, what the person sees and what is sent asserted. Every
// test runs with wx answering through callbacks and through Promises.
const { openPage, useWx, flush, text, tap, type, isDisabled } = require('./helpers')
const fx = name => JSON.parse(JSON.stringify(require(`./fixtures/${name}.json`)))

const ME = { kind: 'user', id: 3, name: '', grants: [] }
const CHAIR = { kind: 'user', id: 1, name: '', grants: [{ role: 'council_chair', scope_type: 'courtyard', scope_id: 1 }] }
const refuse = (status, code, message) => ({ __status: status, body: { error: { code, message } } })
const base = () => ({
  'GET /api/v1/me': ME,
  'GET /api/v1/me/households': fx('my_households'),
  'GET /api/v1/courtyards/1/councils': { councils: [{ id: 1, name: '铝厂小区楼院理事会', courtyard_ids: [1] }] },
  'GET /api/v1/councils/1': fx('council'),
})

describe.each(['callback', 'promise'])('wx in %s style', style => {
  test('opinions: mine and the courtyard\'s public ones, status in words; raising one is the main action', async () => {
    const wx = useWx(Object.assign(base(), { 'GET /api/v1/me/opinions': fx('opinions_mine'), 'GET /api/v1/courtyards/1/opinions': fx('opinions_court') }), style)
    const p = await openPage('pages/opinion/list')
    let s = text(p)
    expect(s).toContain('我提的（2）')
    expect(s).toContain('建议 已收到')
    expect(s).toContain('维修 已解决')
    expect(s).toContain('只给理事会看')
    await tap(p, '大家公开的（1）')
    s = text(p)
    expect(s).toContain('楼道灯坏了')
    expect(s).not.toContain('长椅')
    await tap(p, '提一条意见')
    expect(wx.__navigations).toEqual(['/pages/opinion/new?courtyard=1'])
  })

  test('raise an opinion: category, building, words, a photo, public; confirmed, then uploaded and sent', async () => {
    const wx = useWx(Object.assign(base(), {
      'POST /api/v1/files': { key: 'opinion_photo-1.png', purpose: 'opinion_photo' },
      'POST /api/v1/courtyards/1/opinions': { id: 7, status: 'received' },
    }), style)
    const p = await openPage('pages/opinion/new', { courtyard: '1' })
    expect(isDisabled(p, '下一步：确认')).toBe(true)
    await tap(p, '维修')
    await tap(p, '1号楼')
    await type(p, '.textarea', '楼道灯坏了一个月')
    await tap(p, '点这里拍照或选照片')
    expect(wx.__calls.find(c => c.name === 'chooseMedia').opts.count).toBe(3)
    expect(text(p)).toContain('去掉这张')
    await tap(p, '公开，本院邻居都能看')
    await tap(p, '下一步：确认')
    const s = text(p)
    expect(s).toContain('类别：维修')
    expect(s).toContain('地方：1号楼')
    expect(s).toContain('照片：1 张')
    expect(s).toContain('本院邻居都能看到这条意见')
    expect(wx.requests()).not.toContain('POST /api/v1/courtyards/1/opinions')
    await tap(p, '交给理事会')
    await flush(10)
    expect(wx.__calls.find(c => c.name === 'uploadFile').opts.formData).toEqual({ purpose: 'opinion_photo' })
    expect(wx.bodyOf('POST /api/v1/courtyards/1/opinions')).toEqual({
      category: 'repair', body: '楼道灯坏了一个月', photos: ['opinion_photo-1.png'], public: true, building_id: 1,
    })
    expect(text(p)).toContain('✓ 意见已交给理事会')
  })

  test('raise an opinion: the server\'s refusal in its words', async () => {
    const wx = useWx(Object.assign(base(), { 'POST /api/v1/courtyards/1/opinions': refuse(400, 'bad_body', '意见内容须为5到2000字') }), style)
    const p = await openPage('pages/opinion/new', { courtyard: '1' })
    await tap(p, '其他')
    await type(p, '.textarea', '灯')
    await tap(p, '下一步：确认')
    expect(text(p)).toContain('只有理事会和社区能看到这条意见')
    await tap(p, '交给理事会')
    await flush(10)
    expect(wx.__modals.map(m => m.content)).toEqual(['意见内容须为5到2000字'])
  })

  test('my resolved opinion: the council\'s replies; rate 1–5 after confirming; reopen once with a reason', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/opinions/1': fx('opinion_resolved'),
      'POST /api/v1/opinions/1/rating': { id: 1, rating: 4 },
      'POST /api/v1/opinions/1/reopen': fx('opinion_reopened'),
    }), style)
    const p = await openPage('pages/opinion/detail', { id: '1' })
    let s = text(p)
    expect(s).toContain('维修 已解决')
    expect(s).toContain('理事会（之后：处理中）已报物业，明天上午来换灯。')
    expect(s).toContain('灯已换好，请大家看看。')
    expect(s).toContain('公开，本院邻居都能看')
    expect(s).not.toContain('理事会处理') // not a council member
    expect(wx.__calls.filter(c => c.name === 'downloadFile').map(c => c.opts.url)).toEqual([`http://127.0.0.1:8080/api/v1/opinions/1/photos/${fx('opinion_resolved').opinion.photos[0]}`])
    expect(p.querySelector('.pic')).toBeTruthy()
    expect(isDisabled(p, '提交评分')).toBe(true)
    await tap(p, '4分')
    await tap(p, '提交评分')
    expect(text(p)).toContain('给处理结果打 4 分：满意')
    await tap(p, '确认评分')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/opinions/1/rating')).toEqual({ rating: 4 })
    await tap(p, '重新打开这条意见')
    await type(p, '.textarea', '换的灯又不亮了。')
    await tap(p, '下一步：确认')
    expect(text(p)).toContain('理由：换的灯又不亮了。')
    await tap(p, '确认重新打开')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/opinions/1/reopen')).toEqual({ reason: '换的灯又不亮了。' })
  })

  test('an opinion already reopened offers no second reopen; a refused rating shows the server\'s words', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/opinions/1': fx('opinion_reopened'),
      'POST /api/v1/opinions/1/rating': refuse(409, 'already_rated', '您已经评价过这次的处理结果'),
    }), style)
    const p = await openPage('pages/opinion/detail', { id: '1' })
    const s = text(p)
    expect(s).toContain('提出人重新打开过一次')
    expect(s).toContain('提出人（之后：处理中）换的灯又不亮了。')
    expect(s).not.toContain('重新打开这条意见')
    await tap(p, '5分')
    await tap(p, '提交评分')
    await tap(p, '确认评分')
    await flush(10)
    expect(wx.__modals.map(m => m.content)).toEqual(['您已经评价过这次的处理结果'])
  })

  test('council inbox by status; an opinion assigned, answered and moved forward, turned into a motion draft', async () => {
    const inbox = fx('opinion_inbox')
    const detail = fx('opinion_resolved')
    Object.assign(detail.opinion, { status: 'received', assignee_id: undefined, resolved_at: undefined }); detail.replies = []
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/me': CHAIR,
      'GET /api/v1/courtyards/1/opinions': (data, path) => (path.endsWith('status=received') ? inbox : { opinions: [] }),
      'GET /api/v1/opinions/1': detail,
      'POST /api/v1/opinions/1/assign': detail.opinion,
      'POST /api/v1/opinions/1/replies': detail,
      'POST /api/v1/opinions/1/motion-draft': { opinion: detail.opinion, motion: { id: 12, status: 'draft' } },
    }), style)
    const p = await openPage('pages/council/opinions', { courtyard: '1' })
    expect(text(p)).toContain('建议建议在院里装几把长椅')
    expect(text(p)).toContain('只给理事会看 · 还没交办')
    await tap(p, '已解决')
    expect(wx.requests()).toContain('GET /api/v1/courtyards/1/opinions?status=resolved')
    expect(text(p)).toContain('这里没有意见。')

    const d = await openPage('pages/opinion/detail', { id: '1' })
    expect(text(d)).toContain('理事会处理')
    expect(text(d)).not.toContain('给处理结果打分') // not the raiser
    await tap(d, '未登记姓名（理事）')
    expect(text(d)).toContain('交给：未登记姓名（理事）')
    await tap(d, '确认交办')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/opinions/1/assign')).toEqual({ assignee_id: 2 })
    await type(d, '.textarea', '已报物业')
    await tap(d, '处理中')
    await tap(d, '下一步：确认回复')
    expect(text(d)).toContain('状态改为：处理中')
    await tap(d, '发出回复')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/opinions/1/replies')).toEqual({ body: '已报物业', status: 'in_progress' })
    await tap(d, '转为表决草稿')
    expect(text(d)).toContain('标题：1号楼1单元楼道灯坏了一个月，晚上上下楼看不见。')
    await tap(d, '确认转为草稿')
    await flush(10)
    const body = wx.bodyOf('POST /api/v1/opinions/1/motion-draft')
    expect(body).toMatchObject({ scope_type: 'courtyard', rule: 'ordinary', ballot_mode: 'named', notice_days: 7, title: '1号楼1单元楼道灯坏了一个月，晚上上下楼看不见。' })
    expect(text(d)).toContain('✓ 已转为表决草稿（编号 12）')
  })

  test('surveys: the open one listed; rated 1–5 with a free text, confirmed, sent once', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/councils/1/surveys': fx('surveys'),
      'GET /api/v1/surveys/1': () => (wx.__answered ? fx('survey_answered') : fx('survey')),
      'POST /api/v1/surveys/1/responses': () => { wx.__answered = true; return { id: 1 } },
    }), style)
    const l = await openPage('pages/survey/list')
    expect(text(l)).toContain('2026年楼院理事会满意度测评')
    expect(text(l)).toContain('铝厂小区楼院理事会')
    await tap(l, '2026年楼院理事会满意度测评')
    expect(wx.__navigations).toEqual(['/pages/survey/detail?id=1'])

    const p = await openPage('pages/survey/detail', { id: '1' })
    expect(text(p)).toContain('1. 理事会办事是否公开透明？')
    await tap(p, '下一步：确认')
    expect(wx.__modals.map(m => m.content)).toEqual(['第 1 题还没打分，请先点一个分数。'])
    const stars = p.querySelectorAll('.star')
    expect(stars.length).toBe(10)
    stars[3].dispatchEvent('tap'); await flush()
    stars[9].dispatchEvent('tap'); await flush()
    await type(p, '.textarea', '希望多开几次居民会。')
    await tap(p, '下一步：确认')
    const s = text(p)
    expect(s).toContain('替本户填写：1号楼1单元101')
    expect(s).toContain('1. 理事会办事是否公开透明？ 4 分（满意）')
    expect(s).toContain('2. 理事会解决问题是否及时？ 5 分（很满意）')
    expect(s).toContain('3. 您对理事会还有什么建议？ 希望多开几次居民会。')
    await tap(p, '交上测评')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/surveys/1/responses')).toEqual({ household_id: 1, answers: [{ rating: 4 }, { rating: 5 }, { text: '希望多开几次居民会。' }] })
    expect(text(p)).toContain('✓ 已交上，谢谢您')
    expect(text(p)).toContain('✓ 已填写：1号楼1单元101')
    expect(text(p)).not.toContain('下一步：确认')
  })

  test('survey: a second response is refused in the server\'s words', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/surveys/1': fx('survey'),
      'POST /api/v1/surveys/1/responses': refuse(409, 'already_answered', '本户已经填写过这份测评问卷，每户只能填写一份'),
    }), style)
    const p = await openPage('pages/survey/detail', { id: '1' })
    const stars = p.querySelectorAll('.star')
    stars[0].dispatchEvent('tap'); await flush()
    stars[5].dispatchEvent('tap'); await flush()
    await tap(p, '下一步：确认')
    await tap(p, '交上测评')
    await flush(10)
    expect(wx.__modals.map(m => m.content)).toEqual(['本户已经填写过这份测评问卷，每户只能填写一份'])
    expect(text(p)).not.toContain('✓ 已交上')
  })

  test('elections: candidates with statements, the way to the ballot; a candidate sees their own standing', async () => {
    // recorded as 赵国庆 (user 4), a candidate found eligible
    const wx = useWx(Object.assign(base(), { 'GET /api/v1/me': Object.assign({}, ME, { id: 4 }),
      'GET /api/v1/councils/1/elections': fx('elections'), 'GET /api/v1/elections/1': fx('election') }), style)
    const l = await openPage('pages/election/list')
    expect(text(l)).toContain('铝厂小区第二届楼院理事会选举')
    expect(text(l)).toContain('正在提名候选人 选 3 人')
    const p = await openPage('pages/election/detail', { id: '1' })
    const s = text(p)
    expect(s).toContain('候选人（5 人）')
    expect(s).toContain('周建民居民推选周师傅热心肠，修过全院的水管。')
    expect(s).toContain('吴秀英社区推荐')
    expect(s).toContain('您是候选人资格审查：符合候选人条件')
    expect(s).not.toContain('选举结果')
    await tap(p, '去投票')
    expect(wx.__navigations).toContain('/pages/motion/detail?id=2')

    useWx(Object.assign(base(), { 'GET /api/v1/elections/1': fx('election_nominating') }), style)
    const n = await openPage('pages/election/detail', { id: '1' })
    expect(text(n)).toContain('您是候选人资格审查：资格审查中')
    expect(text(n)).toContain('提名候选人')
    expect(text(n)).not.toContain('候选人（')
  })

  test('election result: a tie at the last seat decides nothing and says so', async () => {
    useWx(Object.assign(base(), { 'GET /api/v1/elections/1': fx('election_tie') }), style)
    const p = await openPage('pages/election/detail', { id: '1' })
    const s = text(p)
    expect(s).toContain('最后一个名额票数相同，这次没有选出全部 3 人')
    expect(s).toMatch(/票数相同的：(周建民、孙丽华|孙丽华、周建民)/)
    expect(s).toMatch(/票数领先的：(王春芬、赵国庆|赵国庆、王春芬)/)
    expect(s).toContain('参加投票的户数或面积不够规定')
    expect(s).not.toContain('去投票')
  })

  test('nominate oneself after confirming; a refusal (a tenant) is shown in the server\'s words', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/elections/1': fx('election_nominating'),
      'POST /api/v1/elections/1/candidates': { id: 9, name: '王春芬' },
    }), style)
    const p = await openPage('pages/election/nominate', { id: '1' })
    expect(isDisabled(p, '下一步：确认')).toBe(true)
    await type(p, '.input', '王春芬')
    await type(p, '.textarea', '退休在家')
    await tap(p, '下一步：确认')
    expect(text(p)).toContain('自荐：王春芬')
    await tap(p, '确认提名')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/elections/1/candidates')).toEqual({ source: 'self', name: '王春芬', statement: '退休在家', user_id: 3 })
    expect(text(p)).toContain('✓ 已提名 王春芬')

    const w2 = useWx(Object.assign(base(), {
      'GET /api/v1/elections/1': fx('election_nominating'),
      'POST /api/v1/elections/1/candidates': refuse(403, 'nominator_not_representative', '只有本选举单元内的户代表可以推选候选人，租户不能推选'),
    }), style)
    const q = await openPage('pages/election/nominate', { id: '1' })
    await type(q, '.input', '王春芬')
    await tap(q, '下一步：确认')
    await tap(q, '确认提名')
    await flush(10)
    expect(w2.__modals.map(m => m.content)).toEqual(['只有本选举单元内的户代表可以推选候选人，租户不能推选'])
  })

  test('nominate a member of one\'s household as its representative (居民推选), the caller as nominator', async () => {
    const hh = fx('my_households')
    hh.households[0].members.push({ membership_id: 2, user_id: 8, household_id: 1, role: 'family', representative: false, real_name: '王小明' },
      { membership_id: 3, user_id: 9, household_id: 1, role: 'tenant', representative: false, real_name: '租客' })
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/me/households': hh,
      'GET /api/v1/elections/1': fx('election_nominating'),
      'POST /api/v1/elections/1/candidates': { id: 10, name: '王小明' },
    }), style)
    const p = await openPage('pages/election/nominate', { id: '1' })
    await tap(p, '我家里的人（户代表推选）')
    expect(text(p)).toContain('王小明（1号楼1单元101，家庭成员）')
    expect(text(p)).not.toContain('租客（') // tenants cannot stand
    expect(isDisabled(p, '下一步：确认')).toBe(true)
    await tap(p, '王小明（1号楼1单元101，家庭成员）')
    await tap(p, '下一步：确认')
    expect(text(p)).toContain('推选：王小明（推选人是您）')
    await tap(p, '确认提名')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/elections/1/candidates')).toEqual({ source: 'residents', name: '王小明', statement: '', user_id: 8, nominators: [3] })
  })

  test('home: 大家议, 大家评 and elections; without a household, binding by address is offered; the council sees new opinions', async () => {
    const routes = Object.assign(base(), { 'GET /api/v1/me/notices/unread': { unread: 0 } })
    let wx = useWx(routes, style)
    const home = await openPage('pages/index/index')
    expect(text(home)).toContain('大家议')
    expect(text(home)).toContain('大家评')
    await tap(home, '理事会选举')
    expect(wx.__navigations).toEqual(['/pages/election/list'])
    wx = useWx(Object.assign({}, routes, { 'GET /api/v1/me/households': { households: [] } }), style)
    const empty = await openPage('pages/index/index')
    await tap(empty, '没有邀请码，按门牌号申请绑定')
    expect(wx.__navigations).toEqual(['/pages/bind/request'])
    wx = useWx(Object.assign({}, routes, {
      'GET /api/v1/me': CHAIR,
      'GET /api/v1/courtyards/1/motions': { motions: [] }, 'GET /api/v1/courtyards/1/notices': { notices: [] },
      'GET /api/v1/courtyards/1/wechat-group': { courtyard_id: 1, linked: false },
      'GET /api/v1/courtyards/1/opinions': fx('opinion_inbox'),
    }), style)
    const c = await openPage('pages/council/index', { courtyard: '1' })
    expect(text(c)).toContain('居民意见（大家议）2 条新的')
    await tap(c, '居民意见（大家议）')
    expect(wx.__navigations).toEqual(['/pages/council/opinions?courtyard=1'])
  })

  test('election ballot: choose up to 3 of 5, the confirmation lists the names, the receipt follows', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/motions/2': fx('election_motion'),
      'GET /api/v1/me/motions': fx('election_mymotions'),
      'GET /api/v1/me/delegations': { given: [], held: [] },
      'POST /api/v1/motions/2/ballots': { motion_id: 2, household_id: 1, receipt: 'ELECT3OF5RCP', channel: 'self' },
    }), style)
    const p = await openPage('pages/motion/detail', { id: '2' })
    expect(text(p)).toContain('请选择候选人（最多选 3 人）')
    expect(text(p)).toContain('本次选 3 人，按得票多少选出')
    expect(text(p)).toContain('参加投票的还差 37 户 / 2547.63 平方米 才够')
    await tap(p, '王春芬')
    await tap(p, '孙丽华')
    await tap(p, '吴秀英')
    expect(text(p)).toContain('已选 3 人：王春芬、孙丽华、吴秀英')
    await tap(p, '赵国庆')
    expect(text(p)).toContain('最多选 3 人。要换人，先点一下已选的人取消。')
    await tap(p, '孙丽华') // untick
    await tap(p, '赵国庆')
    expect(text(p)).toContain('已选 3 人：王春芬、赵国庆、吴秀英')
    await tap(p, '投下这一票')
    expect(text(p)).toContain('您选的 3 人：王春芬、赵国庆、吴秀英')
    expect(text(p)).toContain('每户最多选 3 人，可以少选')
    await tap(p, '确认投票')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/motions/2/ballots')).toEqual({ household_id: 1, options: ['c1', 'c2', 'c5'] })
    expect(wx.__navigations).toContain(`/pages/motion/receipt?code=ELECT3OF5RCP&chosen=${encodeURIComponent('王春芬、赵国庆、吴秀英')}`)
    const r = await openPage('pages/motion/receipt', { code: 'ELECT3OF5RCP', chosen: encodeURIComponent('王春芬、赵国庆、吴秀英') })
    expect(text(r)).toContain('您选的是：王春芬、赵国庆、吴秀英')
  })

  test('election ballot as a proxy: the same names for every household held', async () => {
    const wx = useWx(Object.assign(base(), {
      'GET /api/v1/motions/2': fx('election_motion'),
      'GET /api/v1/me/motions': fx('election_mymotions'),
      'GET /api/v1/me/delegations': { given: [], held: [{ id: 5, household_id: 2, status: 'active', motion_id: 2, courtyard_id: 1 }] },
      'POST /api/v1/motions/2/proxy-ballots': { results: [{ household_id: 2, receipt: { receipt: 'PROXY2RCPT', channel: 'proxy' } }] },
    }), style)
    const p = await openPage('pages/motion/detail', { id: '2' })
    await tap(p, '周建民')
    await tap(p, '吴秀英')
    await tap(p, '替受托的 1 户投票')
    expect(text(p)).toContain('替您受托的 1 户投票')
    expect(text(p)).toContain('您选的 2 人：周建民、吴秀英')
    await tap(p, '确认投票')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/motions/2/proxy-ballots')).toEqual({ household_ids: [2], options: ['c4', 'c5'] })
    expect(text(p)).toContain('户号 2：✓ 已投，回执 PROXY2RCPT')
  })

  test('receipt of an election ballot: candidates by name', async () => {
    useWx(Object.assign(base(), {
      'GET /api/v1/receipts/ELECT3OF5RCP': { motion_id: 2, motion: '铝厂小区第二届楼院理事会选举', counted: true, channel: 'self', cast_at: '2026-12-07T15:53:45Z', options: ['c1', 'c2', 'c3'] },
      'GET /api/v1/motions/2': fx('election_motion'),
    }), style)
    const r = await openPage('pages/motion/receipt', {})
    await type(r, '.input', 'ELECT3OF5RCP')
    await tap(r, '核对这张回执')
    await flush(10)
    expect(text(r)).toContain('选择：王春芬、赵国庆、孙丽华')
  })

  test('binding without a code: find by address, say who one is, confirm; the request\'s status is listed', async () => {
    const wx = useWx({
      'GET /api/v1/me/bind-requests': () => (wx.__sent ? fx('bind_requests') : { requests: [] }),
      'GET /api/v1/household-lookup': fx('household_lookup'),
      'POST /api/v1/households/29/bind-requests': () => { wx.__sent = true; return { id: 1, status: 'pending' } },
    }, style)
    const p = await openPage('pages/bind/request')
    expect(isDisabled(p, '查找这套房屋')).toBe(true)
    const inputs = p.querySelectorAll('.input')
    for (const [i, v] of ['铝厂小区', '2', '1', '101'].entries()) { inputs[i].dispatchEvent('input', { detail: { value: v } }); await flush() }
    await tap(p, '查找这套房屋')
    await flush(10)
    expect(wx.requests()).toContain(`GET /api/v1/household-lookup?courtyard=${encodeURIComponent('铝厂小区')}&building=2&unit=1&room=101`)
    await tap(p, '桐本北路社区 铝厂小区 2号楼1单元101，是我家')
    expect(text(p)).toContain('房屋：桐本北路社区 铝厂小区 2号楼1单元101')
    expect(isDisabled(p, '下一步：确认')).toBe(true)
    await tap(p, '家庭成员（和业主是一家人）')
    await type(p, '.input', '孙立平')
    await type(p, '.textarea', '帮父母用手机投票')
    await tap(p, '下一步：确认')
    expect(text(p)).toContain('您是：家庭成员（和业主是一家人）')
    await tap(p, '提交申请')
    await flush(10)
    expect(wx.bodyOf('POST /api/v1/households/29/bind-requests')).toEqual({ role: 'family', real_name: '孙立平', note: '帮父母用手机投票' })
    const s = text(p)
    expect(s).toContain('✓ 申请已交给社区')
    expect(s).toContain('我的申请')
    expect(s).toContain('家庭成员 · 等待社区审核')
  })

  test('binding without a code: nothing at that address is said plainly; a refusal in the server\'s words', async () => {
    const wx = useWx({
      'GET /api/v1/me/bind-requests': { requests: [] },
      'GET /api/v1/household-lookup': (d, path) => (path.includes('room=999') ? { households: [] } : refuse(429, 'too_many_lookups', '查找次数过多，请60分钟后再试，或联系社区工作人员')),
    }, style)
    const p = await openPage('pages/bind/request')
    const inputs = p.querySelectorAll('.input')
    for (const [i, v] of ['铝厂小区', '2', '1', '999'].entries()) { inputs[i].dispatchEvent('input', { detail: { value: v } }); await flush() }
    await tap(p, '查找这套房屋')
    await flush(10)
    expect(text(p)).toContain('没有找到这个地址的房屋')
    inputs[3].dispatchEvent('input', { detail: { value: '101' } }); await flush()
    await tap(p, '查找这套房屋')
    await flush(10)
    expect(wx.__modals.map(m => m.content)).toEqual(['查找次数过多，请60分钟后再试，或联系社区工作人员'])
  })
})
