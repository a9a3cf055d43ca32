const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

Component({
  behaviors: [pageBehavior],
  data: { petitions: [] },
  methods: {
    onLoad() {},
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const r = await api.myPetitions()
        return {
          petitions: (r.petitions || []).map(x => ({
            id: x.petition.id, title: x.petition.title, status: fmt.petitionStatus(x.petition.status),
            deadline: fmt.time(x.petition.deadline), signed: !!x.signature,
          })),
        }
      })
    },
    onOpen(e) { nav.go(`/pages/petition/detail?id=${e.currentTarget.dataset.id}`) },
  },
})
