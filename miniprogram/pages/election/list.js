const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const { myCouncils } = require('../../utils/councils')
const pageBehavior = require('../../utils/page-behavior')

// The elections of the councils serving my courtyards, newest first.
Component({
  behaviors: [pageBehavior],
  data: { items: [], bound: true },
  methods: {
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const { households, councils } = await myCouncils()
        if (!households.length) return { bound: false }
        const lists = await Promise.all(councils.map(c => api.councilElections(c.id).then(r => (r.elections || []).map(e => Object.assign(e, { council: c.name })))))
        const items = [].concat(...lists).sort((a, b) => b.id - a.id).map(e => ({
          id: e.id, title: e.title, council: e.council, status: fmt.electionStatus(e.status), seats: e.seats, done: e.status === 'confirmed',
        }))
        return { bound: true, items }
      })
    },
    onOpen(e) { nav.go(`/pages/election/detail?id=${e.currentTarget.dataset.id}`) },
  },
})
