// serverList keeps one page of a list that pages and filters on the
// server ({<name>: [...], total, page, page_size}): the motions, petitions
// and notices of a courtyard, filtered by status and by words of the title.
import { ref, watch } from 'vue'
import { messageOf } from './errors.js'

export function serverList(fetch, name, pageSize = 10) {
  const rows = ref([])
  const total = ref(0)
  const page = ref(1)
  const loading = ref(false)
  const refused = ref('')
  const filter = ref({ status: '', q: '' })

  async function load(p = page.value) {
    loading.value = true
    page.value = p
    try {
      const params = { page: p, page_size: pageSize }
      if (filter.value.status) params.status = filter.value.status
      if (filter.value.q.trim()) params.q = filter.value.q.trim()
      const r = await fetch(params)
      rows.value = r[name] || []
      total.value = r.total
      refused.value = ''
    } catch (e) {
      rows.value = []
      total.value = 0
      refused.value = messageOf(e)
    } finally {
      loading.value = false
    }
  }
  watch(() => filter.value.status, () => load(1))
  let timer
  watch(
    () => filter.value.q,
    () => {
      clearTimeout(timer)
      timer = setTimeout(() => load(1), 300)
    },
  )
  return { rows, total, page, loading, refused, filter, load, pageSize }
}
