const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const subscribe = require('../../utils/subscribe')
const pageBehavior = require('../../utils/page-behavior')

// Signing: the typed real name, a handwritten signature (uploaded as a PNG,
// purpose "signature"), for an elevator an optional pledge; a confirmation
// step restates it all.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, petition: null, householdId: 0, house: '', name: '', pledge: '', drawn: false, confirm: false, lines: [], done: false },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); return this.reload() },
    reload() {
      return this.load(async () => {
        const [d, mine, hh] = await Promise.all([api.petition(this.data.id), api.myPetitions(), api.myHouseholds()])
        const my = (mine.petitions || []).find(x => x.petition.id === this.data.id)
        const h = my && (hh.households || []).find(x => x.id === my.household_id)
        return { petition: d.petition, householdId: my ? my.household_id : 0, house: h ? fmt.householdName(h) : '' }
      })
    },
    onName(e) { this.setData({ name: (e.detail.value || '').trim() }) },
    onPledge(e) { this.setData({ pledge: (e.detail.value || '').replace(/[^\d.]/g, '') }) },
    onDrawn(e) { this.setData({ drawn: e.detail.signed }) },
    onNext() {
      if (this.data.name.length < 2 || !this.data.drawn) return
      const lines = [`征求意见：${this.data.petition.title}`, `房屋：${this.data.house}`, `签字人：${this.data.name}（附手写签名）`]
      if (this.data.pledge) lines.push(`承诺出资：${this.data.pledge} 元`)
      lines.push('截止前可以撤回。')
      this.setData({ confirm: true, lines })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      subscribe.ask(['petition_closed'])
      return this.act(async () => {
        const path = await this.selectComponent('#pad').toFile()
        const file = await api.upload(path, 'signature')
        const body = { household_id: this.data.householdId, real_name: this.data.name, signature_file: file.key }
        if (this.data.pledge) body.pledge_fen = Math.round(Number(this.data.pledge) * 100)
        await api.sign(this.data.id, body)
        this.setData({ confirm: false, done: true })
      })
    },
    onDone() { nav.back() },
  },
})
