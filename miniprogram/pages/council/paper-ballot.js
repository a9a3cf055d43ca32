const api = require('../../utils/api')
const nav = require('../../utils/nav')
const { wxp } = require('../../utils/wxp')
const pageBehavior = require('../../utils/page-behavior')

// A paper ballot: pick the household (among those that have not voted),
// the choice on the paper, a photo of the signed paper, then confirm.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, title: '', households: [], options: [], hIdx: -1, choice: '', photo: '', confirm: false, lines: [], done: '' },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); return this.reload() },
    reload() {
      return this.load(async () => {
        const [d, t] = await Promise.all([api.motion(this.data.id), api.turnout(this.data.id)])
        const households = []
        ;(t.units || []).forEach(u => (u.list || []).filter(h => !h.voted).forEach(h => households.push({ id: h.household_id, name: `${h.building}${h.unit}${h.room}` })))
        return { title: d.motion.title, options: d.motion.options, households, hIdx: households.length ? 0 : -1 }
      })
    },
    onPick(e) { this.setData({ hIdx: Number(e.detail.value) }) },
    onChoose(e) { this.setData({ choice: e.currentTarget.dataset.key }) },
    onPhoto() {
      return wxp('chooseMedia', { count: 1, mediaType: ['image'], sourceType: ['camera', 'album'], sizeType: ['compressed'] })
        .then(r => this.setData({ photo: r.tempFiles[0].tempFilePath }), () => {})
    },
    onNext() {
      const h = this.data.households[this.data.hIdx]
      const o = this.data.options.find(x => x.key === this.data.choice)
      if (!h || !o || !this.data.photo) return
      this.setData({ confirm: true, lines: [`表决：${this.data.title}`, `房屋：${h.name}`, `纸质票上选的是：${o.label}`, '已拍下签过字的纸质票。'] })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        const h = this.data.households[this.data.hIdx]
        const f = await api.upload(this.data.photo, 'paper_ballot')
        await api.paperBallot(this.data.id, h.id, [this.data.choice], f.key)
        this.setData({ confirm: false, done: h.name, choice: '', photo: '' })
        return this.reload()
      })
    },
    onBack() { nav.back() },
  },
})
