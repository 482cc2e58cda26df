-- SPDX-License-Identifier: GPL-2.0-or-later
-- The SLiMS 9.7 "Bulian" tables the lokerbuku plugin reads and writes, with
-- the columns SLiMS documents for them (our own statements, from the facts
-- in shared/reference/library-systems.md and SLiMS's published schema: the
-- column names and types are facts about SLiMS, this file is ours). Only
-- the tables and columns the plugin and its tests touch.
--
-- InnoDB: the SLiMS installer lets a library choose MyISAM, Aria or InnoDB;
-- only InnoDB makes the plugin's one-transaction-per-event atomic across
-- SLiMS's own tables, so that is what the plugin asks for and is tested on.

CREATE TABLE mst_member_type (
  member_type_id int(11) NOT NULL AUTO_INCREMENT,
  member_type_name varchar(50) NOT NULL,
  loan_limit int(11) NOT NULL,
  loan_periode int(11) NOT NULL,
  enable_reserve int(1) NOT NULL DEFAULT 0,
  reserve_limit int(11) NOT NULL DEFAULT 0,
  member_periode int(11) NOT NULL,
  reborrow_limit int(11) NOT NULL,
  fine_each_day int(11) NOT NULL,
  grace_periode int(2) DEFAULT 0,
  input_date date NOT NULL,
  last_update date DEFAULT NULL,
  PRIMARY KEY (member_type_id),
  UNIQUE KEY member_type_name (member_type_name)
) ENGINE=InnoDB;

CREATE TABLE member (
  member_id varchar(20) NOT NULL,
  member_name varchar(100) NOT NULL,
  gender int(1) NOT NULL,
  member_type_id int(6) DEFAULT NULL,
  member_email varchar(100) DEFAULT NULL,
  member_phone varchar(50) DEFAULT NULL,
  member_since_date date DEFAULT NULL,
  register_date date DEFAULT NULL,
  expire_date date NOT NULL,
  member_notes text,
  is_pending smallint(1) NOT NULL DEFAULT 0,
  mpasswd varchar(64) DEFAULT NULL,
  input_date date DEFAULT NULL,
  last_update date DEFAULT NULL,
  PRIMARY KEY (member_id),
  KEY member_name (member_name),
  KEY member_type_id (member_type_id)
) ENGINE=InnoDB;

CREATE TABLE biblio (
  biblio_id int(11) NOT NULL AUTO_INCREMENT,
  gmd_id int(3) DEFAULT NULL,
  title text NOT NULL,
  input_date datetime DEFAULT NULL,
  last_update datetime DEFAULT NULL,
  PRIMARY KEY (biblio_id)
) ENGINE=InnoDB;

CREATE TABLE mst_item_status (
  item_status_id char(3) NOT NULL,
  item_status_name varchar(30) NOT NULL,
  rules varchar(255) DEFAULT NULL,
  no_loan smallint(1) NOT NULL DEFAULT 0,
  skip_stock_take smallint(1) NOT NULL DEFAULT 0,
  input_date date DEFAULT NULL,
  last_update date DEFAULT NULL,
  PRIMARY KEY (item_status_id),
  UNIQUE KEY item_status_name (item_status_name)
) ENGINE=InnoDB;

CREATE TABLE item (
  item_id int(11) NOT NULL AUTO_INCREMENT,
  biblio_id int(11) DEFAULT NULL,
  coll_type_id int(3) DEFAULT NULL,
  item_code varchar(20) DEFAULT NULL,
  location_id varchar(3) DEFAULT NULL,
  item_status_id char(3) DEFAULT NULL,
  input_date datetime NOT NULL,
  last_update datetime DEFAULT NULL,
  uid int(11) DEFAULT NULL,
  PRIMARY KEY (item_id),
  UNIQUE KEY item_code (item_code),
  KEY biblio_id_idx (biblio_id)
) ENGINE=InnoDB;

CREATE TABLE mst_loan_rules (
  loan_rules_id int(11) NOT NULL AUTO_INCREMENT,
  member_type_id int(11) NOT NULL DEFAULT 0,
  coll_type_id int(11) DEFAULT 0,
  gmd_id int(11) DEFAULT 0,
  loan_limit int(3) DEFAULT 0,
  loan_periode int(3) DEFAULT 0,
  reborrow_limit int(3) DEFAULT 0,
  fine_each_day int(3) DEFAULT 0,
  grace_periode int(2) DEFAULT 0,
  input_date date DEFAULT NULL,
  last_update date DEFAULT NULL,
  PRIMARY KEY (loan_rules_id)
) ENGINE=InnoDB;

CREATE TABLE loan (
  loan_id int(11) NOT NULL AUTO_INCREMENT,
  item_code varchar(20) DEFAULT NULL,
  member_id varchar(20) DEFAULT NULL,
  loan_date date NOT NULL,
  due_date date NOT NULL,
  renewed int(11) NOT NULL DEFAULT 0,
  loan_rules_id int(11) NOT NULL DEFAULT 0,
  actual date DEFAULT NULL,
  is_lent int(11) NOT NULL DEFAULT 0,
  is_return int(11) NOT NULL DEFAULT 0,
  return_date date DEFAULT NULL,
  input_date datetime DEFAULT NULL,
  last_update datetime DEFAULT NULL,
  uid int(11) DEFAULT NULL,
  PRIMARY KEY (loan_id),
  KEY item_code (item_code),
  KEY member_id (member_id)
) ENGINE=InnoDB;

CREATE TABLE reserve (
  reserve_id int(11) NOT NULL AUTO_INCREMENT,
  member_id varchar(20) NOT NULL,
  biblio_id int(11) NOT NULL,
  item_code varchar(20) NOT NULL,
  reserve_date datetime NOT NULL,
  PRIMARY KEY (reserve_id),
  KEY references_idx (member_id, biblio_id),
  KEY item_code_idx (item_code)
) ENGINE=InnoDB;

CREATE TABLE fines (
  fines_id int(11) NOT NULL AUTO_INCREMENT,
  fines_date date NOT NULL,
  member_id varchar(20) NOT NULL,
  debet int(11) DEFAULT 0,
  credit int(11) DEFAULT 0,
  description varchar(255) DEFAULT NULL,
  PRIMARY KEY (fines_id),
  KEY member_id (member_id)
) ENGINE=InnoDB;

-- holiday_dayname: a lower-case weekday ('sun') with holiday_date NULL
-- for a weekly day off, or a date's own holiday with holiday_date set.
CREATE TABLE holiday (
  holiday_id int(11) NOT NULL AUTO_INCREMENT,
  holiday_dayname varchar(20) NOT NULL,
  holiday_date date DEFAULT NULL,
  description varchar(100) DEFAULT NULL,
  PRIMARY KEY (holiday_id),
  UNIQUE KEY holiday_dayname (holiday_dayname, holiday_date)
) ENGINE=InnoDB;

-- Settings; values are PHP-serialized (ignore_holidays_fine_calc: b:1;).
CREATE TABLE setting (
  setting_id int(3) NOT NULL AUTO_INCREMENT,
  setting_name varchar(30) NOT NULL,
  setting_value text,
  PRIMARY KEY (setting_id),
  UNIQUE KEY setting_name (setting_name)
) ENGINE=InnoDB;

