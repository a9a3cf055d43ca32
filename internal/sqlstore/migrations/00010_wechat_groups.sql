-- A courtyard's WeChat group and the opens of notices shared into it
-- (issue #11, part 4).
-- +goose Up

-- The group the council linked to its courtyard: one per courtyard, and a
-- group belongs to one courtyard. open_gid is the group's openGId in this
-- mini-program, as decrypted from wx.getShareInfo.
CREATE TABLE courtyard_wechat_groups (
  courtyard_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  open_gid VARCHAR(64) NOT NULL,
  linked_by VARCHAR(32) NOT NULL,
  linked_at {{TIME}} NOT NULL,
  CONSTRAINT uq_courtyard_wechat_groups_gid UNIQUE (open_gid),
  CONSTRAINT fk_courtyard_wechat_groups_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};

-- Who opened a notice from its courtyard's group: one row per person and
-- notice, the first open kept.
CREATE TABLE notice_group_opens (
  id {{ID}},
  notice_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  opened_at {{TIME}} NOT NULL,
  CONSTRAINT uq_notice_group_opens UNIQUE (notice_id, user_id),
  CONSTRAINT fk_notice_group_opens_notice FOREIGN KEY (notice_id) REFERENCES notices (id),
  CONSTRAINT fk_notice_group_opens_user FOREIGN KEY (user_id) REFERENCES users (id)
) {{TABLE}};

-- +goose Down
DROP TABLE notice_group_opens;
DROP TABLE courtyard_wechat_groups;
