const api = require('../../utils/api')
const fmt = require('../../utils/format')
const pageBehavior = require('../../utils/page-behavior')

// Turnout by building and unit, for door-to-door visits: who has not voted.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, units: [] },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); return this.reload() },
    reload() {
      return this.load(async () => {
        const r = await api.turnout(this.data.id)
        return {
          units: (r.units || []).map(u => ({
            key: u.building + u.unit, name: `${u.building}${u.unit}`, voted: u.voted, households: u.households,
            width: fmt.pct(u.voted, u.households),
            missing: (u.list || []).filter(h => !h.voted).map(h => h.room).join('、'),
          })),
        }
      })
    },
  },
})
