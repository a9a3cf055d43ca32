const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

// Nominating: oneself (自荐), or — as a household's representative — an
// owner or family member of one's household (居民推选, the caller as the
// nominator). Who may nominate whom is the server's rule: a tenant or a
// representative outside the election unit is refused in its words.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, title: '', meId: 0, mode: 'self', people: [], pIdx: -1, name: '', statement: '', confirm: false, lines: [], done: '' },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); return this.reload() },
    reload() {
      return this.load(async () => {
        const [v, me, hh] = await Promise.all([api.election(this.data.id), api.me(), api.myHouseholds()])
        const people = []
        ;(hh.households || []).forEach(h => (h.members || []).forEach(m => {
          if (m.user_id !== me.id && m.role !== 'tenant' && !people.some(p => p.id === m.user_id)) {
            people.push({ id: m.user_id, name: m.real_name || '', label: `${m.real_name || '未登记姓名'}（${fmt.householdName(h)}，${fmt.memberRole(m.role)}）` })
          }
        }))
        return { title: v.election.title, meId: me.id, name: this.data.name || me.name || '', people }
      })
    },
    onMode(e) {
      const mode = e.currentTarget.dataset.mode
      this.setData({ mode, pIdx: -1, name: mode === 'self' ? this.data.name : '' })
    },
    onPerson(e) {
      const i = Number(e.currentTarget.dataset.i)
      this.setData({ pIdx: i, name: this.data.people[i].name })
    },
    onName(e) { this.setData({ name: (e.detail.value || '').trim() }) },
    onStatement(e) { this.setData({ statement: e.detail.value || '' }) },
    onNext() {
      if (!this.data.name || (this.data.mode === 'family' && this.data.pIdx < 0)) return
      const lines = [`选举：${this.data.title}`]
      lines.push(this.data.mode === 'self' ? `自荐：${this.data.name}` : `推选：${this.data.name}（推选人是您）`)
      if (this.data.statement.trim()) lines.push(`介绍：${fmt.clip(this.data.statement.trim(), 60)}`)
      lines.push('社区审查符合条件后，才会列入候选人名单。')
      this.setData({ confirm: true, lines })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        const self = this.data.mode === 'self'
        const body = { source: self ? 'self' : 'residents', name: this.data.name, statement: this.data.statement.trim() }
        body.user_id = self ? this.data.meId : this.data.people[this.data.pIdx].id
        if (!self) body.nominators = [this.data.meId]
        const c = await api.nominate(this.data.id, body)
        this.setData({ confirm: false, done: c.name })
      })
    },
    onBack() { nav.back() },
  },
})
