const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const subscribe = require('../../utils/subscribe')
const pageBehavior = require('../../utils/page-behavior')

Component({
  behaviors: [pageBehavior],
  data: { households: [], motions: [], householdIdx: 0, motionIdx: 0, proxyCode: '', confirm: false, lines: [], done: false },
  methods: {
    onLoad() { return this.reload() },
    reload() {
      return this.load(async () => {
        const [hh, mm] = await Promise.all([api.myHouseholds(), api.myMotions()])
        const households = (hh.households || []).filter(h => h.representative).map(h => ({ id: h.id, name: fmt.householdName(h) }))
        const motions = (mm.motions || []).filter(x => ['notice', 'voting'].includes(x.motion.status))
          .map(x => ({ id: x.motion.id, title: x.motion.title }))
        return { households, motions }
      })
    },
    onHousehold(e) { this.setData({ householdIdx: Number(e.currentTarget.dataset.idx) }) },
    onMotion(e) { this.setData({ motionIdx: Number(e.currentTarget.dataset.idx) }) },
    onInput(e) { this.setData({ proxyCode: (e.detail.value || '').replace(/\D/g, '') }) },
    onNext() {
      const h = this.data.households[this.data.householdIdx]
      const m = this.data.motions[this.data.motionIdx]
      if (!h || !m || !this.data.proxyCode) return
      this.setData({
        confirm: true,
        lines: [`房屋：${h.name}`, `委托给：受托码 ${this.data.proxyCode} 的人`, `只限这项表决：${m.title}`, '对方接受后生效。您随时可以撤销；您自己投了票，就以您的票为准。'],
      })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      subscribe.ask(['delegation_accepted'])
      return this.act(async () => {
        const h = this.data.households[this.data.householdIdx]
        const m = this.data.motions[this.data.motionIdx]
        await api.delegate({ household_id: h.id, proxy_user_id: Number(this.data.proxyCode), motion_id: m.id })
        this.setData({ confirm: false, done: true })
      })
    },
    onDone() { nav.back() },
  },
})
