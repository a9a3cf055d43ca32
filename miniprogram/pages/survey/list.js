const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const { myCouncils } = require('../../utils/councils')
const pageBehavior = require('../../utils/page-behavior')

// 大家评: the satisfaction surveys of the councils serving my courtyards,
// the open ones first.
Component({
  behaviors: [pageBehavior],
  data: { open: [], closed: [], bound: true },
  methods: {
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const { households, councils } = await myCouncils()
        if (!households.length) return { bound: false }
        const lists = await Promise.all(councils.map(c => api.councilSurveys(c.id).then(r => (r.surveys || []).map(s => Object.assign(s, { council: c.name })))))
        const all = [].concat(...lists).map(s => ({
          id: s.id, title: s.title, council: s.council, open: s.status === 'open',
          status: fmt.surveyStatus(s.status), closes: fmt.time(s.closes_at),
        }))
        return { bound: true, open: all.filter(s => s.open), closed: all.filter(s => !s.open) }
      })
    },
    onOpen(e) { nav.go(`/pages/survey/detail?id=${e.currentTarget.dataset.id}`) },
  },
})
