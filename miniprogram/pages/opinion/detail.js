const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

const COUNCIL_ROLES = ['council_chair', 'council_member', 'council_treasurer']
const iso = days => new Date(Date.now() + days * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z')

// One opinion: what was raised, the council's replies and where it stands.
// The person who raised it rates a resolved outcome (1–5) and may reopen it;
// the server decides whether that is still allowed (the buttons follow what
// it sent: resolved, rated, reopened) and refuses in its own words.
// A council member of the courtyard also assigns it, replies and moves it
// forward, or turns it into a motion or petition draft.
Component({
  behaviors: [pageBehavior],
  data: {
    id: 0, op: null, replies: [], photos: [], mine: false, council: false, members: [],
    rating: 0, reason: '', reopening: false, reply: '', next: '', title: '',
    confirm: false, confirmTitle: '', confirmText: '', lines: [], action: '', done: '',
  },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); return this.reload() },
    reload() {
      return this.load(async () => {
        const [v, me] = await Promise.all([api.opinion(this.data.id), api.me()])
        const o = v.opinion
        const council = (me.grants || []).some(g => COUNCIL_ROLES.includes(g.role) && g.scope_type === 'courtyard' && g.scope_id === o.courtyard_id)
        const raiser = `user:${o.raised_by}`
        const out = {
          op: Object.assign({}, o, {
            categoryText: fmt.category(o.category), statusText: fmt.opinionStatus(o.status), when: fmt.time(o.created_at),
            who: o.public ? '公开，本院邻居都能看' : '只给理事会看',
            draftText: o.draft_ref ? (o.draft_ref.startsWith('petition:') ? '联名征求意见' : '表决') : '', resolved: o.status === 'resolved', ratingText: o.rating ? `${o.rating} 分（${fmt.rating(o.rating)}）` : '',
          }),
          replies: (v.replies || []).map(r => ({
            id: r.id, who: r.author === raiser ? '提出人' : '理事会', body: r.body, when: fmt.time(r.created_at), status: fmt.opinionStatus(r.status),
          })),
          mine: me.kind === 'user' && me.id === o.raised_by,
          council,
          title: this.data.title || String(o.body).split('\n')[0].slice(0, 30),
          photos: (await Promise.all((o.photos || []).map(k => api.opinionPhoto(o.id, k).catch(() => '')))).filter(Boolean),
        }
        if (council && !this.data.members.length) {
          const cs = await api.courtyardCouncils(o.courtyard_id)
          const c = (cs.councils || [])[0]
          const d = c ? await api.council(c.id) : { terms: [] }
          const term = (d.terms || []).find(t => t.current) || { members: [] }
          out.members = term.members.map(m => ({ id: m.user_id, name: `${m.name || '未登记姓名'}（${fmt.seat(m.seat)}）`, on: m.user_id === o.assignee_id }))
        }
        return out
      })
    },
    // the raiser's rating and reopen
    onStar(e) { this.setData({ rating: Number(e.currentTarget.dataset.n) }) },
    onRate() {
      if (!this.data.rating) return
      this.ask('rate', '请确认您的评分', '确认评分', [`给处理结果打 ${this.data.rating} 分：${fmt.rating(this.data.rating)}`, '打分以后不能再改。'])
    },
    onReopenStart() { this.setData({ reopening: true }) },
    onReason(e) { this.setData({ reason: e.detail.value || '' }) },
    onReopen() {
      if (!this.data.reason.trim()) return
      this.ask('reopen', '重新打开这条意见', '确认重新打开', [`理由：${fmt.clip(this.data.reason.trim(), 60)}`, '每条意见只能重新打开一次，打开后理事会接着处理。'])
    },
    // the council's work
    onAssign(e) {
      const m = this.data.members.find(x => x.id === Number(e.currentTarget.dataset.id))
      if (m) this.ask('assign', '交给这位理事处理', '确认交办', [`交给：${m.name}`], { assignee: m.id })
    },
    onReply(e) { this.setData({ reply: e.detail.value || '' }) },
    onNext(e) { this.setData({ next: e.currentTarget.dataset.s }) },
    onSend() {
      if (!this.data.reply.trim()) return
      const lines = [`回复：${fmt.clip(this.data.reply.trim(), 60)}`]
      lines.push(this.data.next ? `状态改为：${fmt.opinionStatus(this.data.next)}` : '状态不变')
      lines.push('提出人会收到通知。')
      this.ask('reply', '请确认回复', '发出回复', lines)
    },
    onTitle(e) { this.setData({ title: e.detail.value || '' }) },
    onToMotion() {
      if (!this.data.title.trim()) return
      this.ask('motion', '转为表决草稿', '确认转为草稿', [`标题：${this.data.title.trim()}`, '一般事项，记名投票；公示 7 天后投票 7 天。', '意见内容作为表决说明。', '这是草稿：发布以后才开始公示。'])
    },
    onToPetition() {
      if (!this.data.title.trim()) return
      this.ask('petition', '转为联名征求意见草稿', '确认转为草稿', [`标题：${this.data.title.trim()}`, '全院征求意见，30 天后截止，目标三分之二以上的户签字。', '这是草稿：发布以后才开始签字。'])
    },
    ask(action, confirmTitle, confirmText, lines, extra) {
      this.setData(Object.assign({ action, confirmTitle, confirmText, lines, confirm: true }, extra || {}))
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        const id = this.data.id, title = this.data.title.trim()
        let done = ''
        switch (this.data.action) {
          case 'rate': await api.rateOpinion(id, this.data.rating); done = '✓ 谢谢您的评分'; break
          case 'reopen': await api.reopenOpinion(id, this.data.reason.trim()); done = '✓ 已重新打开，理事会会接着处理'; break
          case 'assign': await api.assignOpinion(id, this.data.assignee); done = '✓ 已交办'; break
          case 'reply': await api.answerOpinion(id, this.data.reply.trim(), this.data.next); done = '✓ 回复已发出'; break
          case 'motion': {
            const r = await api.opinionToMotion(id, { scope_type: 'courtyard', title, rule: 'ordinary', ballot_mode: 'named', notice_days: 7, objection_days: 7, opens_at: iso(7.5), closes_at: iso(14.5) })
            done = `✓ 已转为表决草稿（编号 ${r.motion.id}）`
            break
          }
          case 'petition': {
            const r = await api.opinionToPetition(id, { scope_type: 'courtyard', title, deadline: iso(30), target_households: { num: 2, den: 3 } })
            done = `✓ 已转为联名征求意见草稿（编号 ${r.petition.id}）`
            break
          }
        }
        this.setData({ confirm: false, done, reply: '', next: '', reopening: false, reason: '', rating: 0, members: [] })
        return this.reload()
      })
    },
    onPreview(e) { wx.previewImage({ urls: this.data.photos, current: e.currentTarget.dataset.src }) },
    onBack() { nav.back() },
  },
})
