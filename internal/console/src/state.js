// Shared view state: the courtyards the staff member works in (from the
// server) and the one chosen in the header, kept for the tab's life.
import { ref, computed } from 'vue'
import * as api from './api.js'

const KEY = 'louyuan.console.courtyard'
export const courtyards = ref([])
export const courtyardId = ref(Number(sessionStorage.getItem(KEY)) || 0)
export const courtyard = computed(() => courtyards.value.find((c) => c.id === courtyardId.value) || null)

export function chooseCourtyard(id) {
  courtyardId.value = id
  sessionStorage.setItem(KEY, String(id))
}

export async function loadCourtyards() {
  const { courtyards: list } = await api.myCourtyards()
  courtyards.value = list
  if (!list.some((c) => c.id === courtyardId.value)) chooseCourtyard(list.length ? list[0].id : 0)
  return list
}

export function clearState() {
  courtyards.value = []
  courtyardId.value = 0
  sessionStorage.removeItem(KEY)
}
