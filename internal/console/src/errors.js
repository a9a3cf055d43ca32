import { ElMessage } from 'element-plus'

/** showError puts a failed call's Chinese message on screen. */
export function showError(e) {
  ElMessage({ type: 'error', message: messageOf(e), duration: 5000, showClose: true })
}

/** messageOf is what a person reads for an error: never a code or JSON. */
export function messageOf(e) {
  return (e && e.message && !/^[\x20-\x7e]*$/.test(e.message) ? e.message : '操作没有成功，请稍后重试')
}
