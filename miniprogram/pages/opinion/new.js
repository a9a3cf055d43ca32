const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const { wxp } = require('../../utils/wxp')
const pageBehavior = require('../../utils/page-behavior')

const MAX_PHOTOS = 3

// Raising an opinion: what kind of matter, which building, the words, up to
// three photos (uploaded with purpose "opinion_photo" when sent), and who
// may read it. A confirmation restates it; the server checks the rest
// (length, photos, that the person lives here) and its words are shown.
Component({
  behaviors: [pageBehavior],
  data: {
    loading: false, courtyard: 0, categories: fmt.CATEGORIES, category: '', buildings: [], building: 0,
    body: '', photos: [], public: false, confirm: false, lines: [], created: 0, maxPhotos: MAX_PHOTOS,
  },
  methods: {
    onLoad(q) {
      this.setData({ courtyard: Number(q.courtyard) || 0 })
      return this.reload()
    },
    reload() {
      return this.load(async () => {
        const hh = await api.myHouseholds()
        const mine = (hh.households || []).filter(h => !this.data.courtyard || h.courtyard_id === this.data.courtyard)
        const seen = {}
        const buildings = [{ id: 0, name: '整个院子（不分楼）' }]
        mine.forEach(h => { if (!seen[h.building_id]) { seen[h.building_id] = true; buildings.push({ id: h.building_id, name: h.building }) } })
        return { courtyard: this.data.courtyard || (mine[0] || {}).courtyard_id || 0, buildings }
      })
    },
    onCategory(e) { this.setData({ category: e.currentTarget.dataset.key }) },
    onBuilding(e) { this.setData({ building: Number(e.currentTarget.dataset.id) }) },
    onBody(e) { this.setData({ body: e.detail.value || '' }) },
    onPublic(e) { this.setData({ public: e.currentTarget.dataset.v === 'yes' }) },
    onAddPhoto() {
      const left = MAX_PHOTOS - this.data.photos.length
      if (left <= 0) return undefined
      return wxp('chooseMedia', { count: left, mediaType: ['image'], sourceType: ['camera', 'album'], sizeType: ['compressed'] })
        .then(r => this.setData({ photos: this.data.photos.concat((r.tempFiles || []).map(f => f.tempFilePath)).slice(0, MAX_PHOTOS) }), () => {})
    },
    onRemovePhoto(e) {
      const i = Number(e.currentTarget.dataset.i)
      this.setData({ photos: this.data.photos.filter((_, j) => j !== i) })
    },
    onNext() {
      if (!this.data.category || !this.data.body.trim()) return
      const b = this.data.buildings.find(x => x.id === this.data.building)
      const lines = [
        `类别：${fmt.category(this.data.category)}`,
        `地方：${b ? b.name : ''}`,
        `内容：${fmt.clip(this.data.body.trim(), 60)}`,
        this.data.photos.length ? `照片：${this.data.photos.length} 张` : '没有照片',
        this.data.public ? '本院邻居都能看到这条意见' : '只有理事会和社区能看到这条意见',
      ]
      this.setData({ confirm: true, lines })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        const keys = []
        for (const p of this.data.photos) keys.push((await api.upload(p, 'opinion_photo')).key)
        const body = { category: this.data.category, body: this.data.body.trim(), photos: keys, public: this.data.public }
        if (this.data.building) body.building_id = this.data.building
        const o = await api.raiseOpinion(this.data.courtyard, body)
        this.setData({ confirm: false, created: o.id })
      })
    },
    onOpen() { wx.redirectTo({ url: `/pages/opinion/detail?id=${this.data.created}` }) },
    onBack() { nav.back() },
  },
})
