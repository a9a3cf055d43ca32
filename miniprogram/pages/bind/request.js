const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

const ROLES = [{ key: 'owner', label: '业主（房产证上有我）' }, { key: 'family', label: '家庭成员（和业主是一家人）' }, { key: 'tenant', label: '租户（租住在这里）' }]

// Binding without an invite code: find the household by the address on the
// door (the server answers only that exact address), say who one is there,
// and ask; community staff check and decide. The person's requests and
// what became of them are listed at the top.
Component({
  behaviors: [pageBehavior],
  data: {
    requests: [], step: 'find', courtyard: '', building: '', unit: '', room: '', found: [], searched: false,
    house: null, roles: ROLES, role: '', realName: '', note: '', confirm: false, lines: [], sent: false,
  },
  methods: {
    onLoad() { return this.reload() },
    reload() {
      return this.load(async () => {
        const r = await api.myBindRequests()
        return {
          requests: (r.requests || []).map(x => ({
            id: x.id, address: address(x.address), role: fmt.memberRole(x.role), status: fmt.requestStatus(x.status),
            ok: x.status === 'approved', no: x.status === 'rejected', reason: x.reason || '', when: fmt.time(x.created_at),
          })),
        }
      })
    },
    onField(e) { this.setData({ [e.currentTarget.dataset.f]: (e.detail.value || '').trim(), searched: false }) },
    onFind() {
      const { courtyard, building, unit, room } = this.data
      if (!courtyard || !building || !unit || !room) return undefined
      return this.act(async () => {
        const r = await api.findHousehold({ courtyard, building, unit, room })
        this.setData({ found: (r.households || []).map(h => ({ id: h.household_id, name: address(h) })), searched: true })
      })
    },
    onChoose(e) {
      const h = this.data.found.find(x => x.id === Number(e.currentTarget.dataset.id))
      this.setData({ house: h, step: 'who' })
    },
    onRole(e) { this.setData({ role: e.currentTarget.dataset.key }) },
    onRealName(e) { this.setData({ realName: (e.detail.value || '').trim() }) },
    onNote(e) { this.setData({ note: e.detail.value || '' }) },
    onAgain() { this.setData({ step: 'find', house: null, role: '' }) },
    onNext() {
      if (!this.data.role || !this.data.realName) return
      const role = ROLES.find(r => r.key === this.data.role)
      const lines = [`房屋：${this.data.house.name}`, `您是：${role.label}`, `真实姓名：${this.data.realName}`]
      if (this.data.note.trim()) lines.push(`备注：${this.data.note.trim()}`)
      lines.push('社区工作人员核对后会通过或退回，结果在这一页能看到。')
      this.setData({ confirm: true, lines })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        await api.requestBinding(this.data.house.id, this.data.role, this.data.realName, this.data.note.trim())
        this.setData({ confirm: false, sent: true, step: 'find', house: null, role: '', found: [], searched: false })
        return this.reload()
      })
    },
    onHome() { nav.home() },
  },
})

function address(a) {
  return `${a.community ? a.community + ' ' : ''}${a.courtyard} ${a.building}${a.unit}${a.room}`
}
