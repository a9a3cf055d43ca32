const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

const TAG = { voted: 'tag-ok', voted_by_proxy: 'tag-ok', voted_on_paper: 'tag-ok', delegated: 'tag-info', not_voted: 'tag-wait' }

Component({
  behaviors: [pageBehavior],
  data: { motions: [] },
  methods: {
    onLoad() {},
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const r = await api.myMotions()
        return {
          motions: (r.motions || []).map(x => ({
            id: x.motion.id, title: x.motion.title,
            status: fmt.motionStatus(x.motion.status),
            voting: x.motion.status === 'voting',
            mine: fmt.householdStatus(x.household_status),
            mineClass: TAG[x.household_status] || 'tag-off',
            closes: fmt.time(x.motion.closes_at),
          })),
        }
      })
    },
    onOpen(e) { nav.go(`/pages/motion/detail?id=${e.currentTarget.dataset.id}`) },
  },
})
