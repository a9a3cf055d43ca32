const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

Component({
  behaviors: [pageBehavior],
  data: { loading: false, code: '', bound: null },
  methods: {
    onLoad() {},
    onInput(e) { this.setData({ code: (e.detail.value || '').toUpperCase().trim() }) },
    onBind() {
      if (!this.data.code) return undefined
      return this.act(async () => {
        const m = await api.bindWithInvite(this.data.code)
        const hh = await api.myHouseholds()
        const h = (hh.households || []).find(x => x.id === m.household_id) || {}
        this.setData({ bound: { name: `${h.courtyard || ''} ${fmt.householdName(h)}`, representative: m.representative } })
      })
    },
    onHome() { nav.home() },
    onRequest() { nav.go('/pages/bind/request') },
  },
})
