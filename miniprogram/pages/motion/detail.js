const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const subscribe = require('../../utils/subscribe')
const share = require('../../utils/share')
const pageBehavior = require('../../utils/page-behavior')

// Motion text, the live tally with each threshold as a bar and in words,
// and voting (for my household, or for the households I hold as a proxy)
// with a confirmation step. Whether I may vote comes from the server: the
// motion's status, my household's status and whether I am its
// representative; the server refuses anything else with its own message.
// An election (rule "election", K seats) is one ballot choosing up to K
// candidates: the page lets a person tick up to the K the server names, and
// the confirmation lists the chosen names.
Component({
  behaviors: [pageBehavior],
  data: {
    id: 0, motion: null, tally: null, bars: [], options: [], headline: '',
    mine: null, held: [], choice: '', choiceLabel: '', mode: '', confirm: false, lines: [], results: [],
    multi: false, seats: 0, picked: [], on: {}, pickNote: '',
  },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); share.enableTicket(); return this.reload() },
    reload() {
      return this.load(async () => {
        const id = this.data.id
        const [d, mm, hh, dl] = await Promise.all([api.motion(id), api.myMotions(), api.myHouseholds(), api.myDelegations()])
        const m = d.motion, t = d.tally
        const my = (mm.motions || []).find(x => x.motion.id === id)
        const house = my && (hh.households || []).find(h => h.id === my.household_id)
        const held = (dl.held || []).filter(x => x.status === 'active' && (x.motion_id === id || (!x.motion_id && x.courtyard_id === m.courtyard_id)))
        const voting = m.status === 'voting'
        const multi = m.rule.kind === 'election'
        return {
          multi, seats: multi ? m.rule.seats || 1 : 1,
          motion: Object.assign({}, m, {
            statusText: fmt.motionStatus(m.status), ruleText: fmt.rule(m.rule.kind),
            opens: fmt.time(m.opens_at), closes: fmt.time(m.closes_at), secret: m.ballot_mode === 'secret',
          }),
          tally: t,
          headline: headline(m, t),
          bars: bars(t),
          options: (t.options || []).map(o => Object.assign({}, o, { text: optionText(o) })),
          sealedNote: t.sealed && !t.options ? '不记名投票：投票结束前只公布参加的户数和面积，各选项的票数在投票结束后公布。' : '',
          choices: m.options,
          mine: my && house ? {
            householdId: house.id, name: fmt.householdName(house), representative: house.representative,
            status: fmt.householdStatus(my.household_status), canVote: voting && house.representative,
          } : null,
          held: voting ? held.map(x => x.household_id) : [],
        }
      })
    },
    onChoose(e) {
      const key = e.currentTarget.dataset.key
      const label = k => { const o = this.data.choices.find(c => c.key === k); return o ? o.label : k }
      if (!this.data.multi) {
        this.setData({ choice: key, choiceLabel: label(key), on: { [key]: true } })
        return
      }
      let picked = this.data.picked.slice()
      let pickNote = ''
      if (picked.includes(key)) picked = picked.filter(k => k !== key)
      else if (picked.length >= this.data.seats) pickNote = `最多选 ${this.data.seats} 人。要换人，先点一下已选的人取消。`
      else picked.push(key)
      // in the ballot's order, so the confirmation reads like the list
      picked = this.data.choices.map(c => c.key).filter(k => picked.includes(k))
      const on = {}
      picked.forEach(k => { on[k] = true })
      this.setData({ picked, on, pickNote, choice: picked.length ? picked.join(',') : '', choiceLabel: picked.map(label).join('、') })
    },
    onVote() { this.ask('self') },
    onProxyVote() { this.ask('proxy') },
    ask(mode) {
      if (!this.data.choice) return
      const m = this.data.motion
      const lines = [`表决：${m.title}`]
      if (mode === 'self') lines.push(`替本户投票：${this.data.mine.name}`)
      else lines.push(`替您受托的 ${this.data.held.length} 户投票`)
      if (this.data.multi) {
        lines.push(`您选的 ${this.data.picked.length} 人：${this.data.choiceLabel}`)
        lines.push(`本次选 ${this.data.seats} 人，每户最多选 ${this.data.seats} 人，可以少选。`)
      } else lines.push(`您选择：${this.data.choiceLabel}`)
      lines.push('投票截止前还可以改票，以最后一次为准。')
      this.setData({ mode, confirm: true, lines })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      // inside the tap: ask whether to be told the result
      subscribe.ask(['motion_result'])
      return this.act(async () => {
        const id = this.data.id
        const options = this.data.multi ? this.data.picked : [this.data.choice]
        if (this.data.mode === 'self') {
          const r = await api.castBallot(id, this.data.mine.householdId, options)
          this.setData({ confirm: false })
          nav.go(`/pages/motion/receipt?code=${r.receipt}` + (this.data.multi ? `&chosen=${encodeURIComponent(this.data.choiceLabel)}` : ''))
        } else {
          const r = await api.castProxyBallots(id, this.data.held, options)
          this.setData({
            confirm: false,
            results: (r.results || []).map(x => ({
              householdId: x.household_id,
              text: x.receipt ? `户号 ${x.household_id}：✓ 已投，回执 ${x.receipt.receipt}` : `户号 ${x.household_id}：没投成，${x.error ? x.error.message : ""}`,
            })),
          })
        }
        return this.reload()
      })
    },
    onShareAppMessage() {
      return { title: `请投票：${this.data.motion ? this.data.motion.title : '楼院表决'}`, path: `/pages/motion/detail?id=${this.data.id}` }
    },
  },
})

function headline(m, t) {
  if (m.status === 'draft' || m.status === 'notice') return '还没开始投票'
  if (m.rule.kind === 'election') return electionHeadline(m, t)
  if (t.passed === true) return m.status === 'voting' ? '✓ 按目前的票数，已经够通过' : '✓ 已通过'
  const p = [t.participation_head, t.participation_area]
  const a = [t.approval_head, t.approval_area].filter(Boolean)
  const need = xs => {
    const parts = []
    xs.forEach(x => {
      if (x && !x.met && x.needed_households > 0) parts.push(`${x.needed_households} 户`)
      if (x && !x.met && Number(x.needed_area) > 0) parts.push(`${fmt.area(x.needed_area)} 平方米`)
    })
    return parts
  }
  const pn = need(p), an = need(a)
  if (m.status !== 'voting') return '✗ 没有通过'
  if (pn.length) return `参加投票的还差 ${pn.join(' / ')} 才够`
  if (t.passed === undefined) return '参加投票的已经够了；不记名投票，结果在投票结束后公布'
  if (an.length) return `同意的还差 ${an.join(' / ')} 才能通过`
  return '还没有达到通过条件'
}

// electionHeadline says where an election stands, from the server's tally:
// participation still needed, who is elected, or a tie at the last seat
// (nothing decided, another ballot needed).
function electionHeadline(m, t) {
  const label = k => { const o = (m.options || []).find(x => x.key === k); return o ? o.label : k }
  const short = [t.participation_head, t.participation_area].filter(x => x && !x.met)
  if (m.status === 'voting') {
    const parts = []
    short.forEach(x => {
      if (x.needed_households > 0) parts.push(`${x.needed_households} 户`)
      if (Number(x.needed_area) > 0) parts.push(`${fmt.area(x.needed_area)} 平方米`)
    })
    if (parts.length) return `参加投票的还差 ${parts.join(' / ')} 才够`
    return '参加投票的已经够了，投票截止后按得票多少选出'
  }
  if (t.tie_at_last_seat && t.tie_at_last_seat.length) {
    return `最后一个名额票数相同（${t.tie_at_last_seat.map(label).join('、')}），这次没有选出，需要再选一次`
  }
  if (short.length) return '✗ 参加投票的不够，这次选举没有结果'
  if (t.elected && t.elected.length) return `当选：${t.elected.map(label).join('、')}`
  return '还没有结果'
}

// optionText says one option's support in words: households and area for
// a named ballot; for a closed secret ballot the heads (owners) only, and
// for 同意 the share of the area as the server gives it.
function optionText(o) {
  const parts = []
  if (o.households !== undefined) parts.push(`${o.households} 户`)
  else parts.push(`${fmt.heads(o.heads)} 人`)
  if (o.area !== undefined) parts.push(`${fmt.area(o.area)} 平方米`)
  if (o.area_share) parts.push(`面积占参加投票的${o.area_share.text}`)
  return `${o.label}：${parts.join('，')}`
}

function bars(t) {
  const list = [
    { key: 'ph', title: '参加投票的人数', p: t.participation_head, value: String(t.voted.heads), total: String(t.electorate.heads), unit: '人', goal: '够参加人数' },
    { key: 'pa', title: '参加投票的面积', p: t.participation_area, value: t.voted.area, total: t.electorate.area, unit: '平方米', goal: '够参加面积' },
  ]
  const agree = (t.options || []).find(o => o.key === 'agree')
  if (agree && t.approval_head) list.push({ key: 'ah', title: '同意的人数', p: t.approval_head, value: fmt.heads(agree.heads), total: String(t.voted.heads), unit: '人', goal: '够同意人数' })
  // A closed secret ballot gives the agreeing area only as a share band:
  // the bar then says whether it holds, without a length.
  if (agree && t.approval_area) list.push({ key: 'aa', title: '同意的面积', p: t.approval_area, value: agree.area || '', total: agree.area ? t.voted.area : '', unit: '平方米', goal: '够同意面积' })
  return list.filter(b => b.p)
}
