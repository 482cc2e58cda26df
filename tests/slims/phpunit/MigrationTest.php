<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The plugin's migration, as SLiMS runs it when the plugin is activated.

final class MigrationTest extends SlimsTestCase
{
    public function test_creates_every_table_as_innodb(): void
    {
        foreach (array_keys(\Lokerbuku\Sync\Schema::tables()) as $t) {
            $engine = $this->row('SELECT ENGINE FROM information_schema.TABLES'
                . ' WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [$t]);
            $this->assertNotNull($engine, "table $t");
            $this->assertSame('InnoDB', $engine['ENGINE'], "table $t");
        }
    }

    public function test_running_it_again_changes_nothing(): void
    {
        $token = $this->store->addKiosk('k-01', '', 1);
        $instance = $this->store->config()->instance();
        \Lokerbuku\Sync\Schema::create($this->db);
        $this->assertSame($instance, $this->store->config()->instance());
        $this->assertSame('k-01', $this->store->kioskOfToken($token));
    }

    public function test_down_drops_the_plugins_tables_and_leaves_slims_tables(): void
    {
        (new LokerbukuCreateTables())->down();
        $left = $this->db->query("SHOW TABLES LIKE 'lokerbuku%'")->fetchAll();
        $this->assertSame([], $left);
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM loan'));
    }

    public function test_migration_2_upgrades_a_version_1_install(): void
    {
        // Version 1's tables: without the columns version 2 added.
        $this->db->exec('ALTER TABLE lokerbuku_kiosk DROP COLUMN user_id, DROP COLUMN auto_checkin');
        $this->db->exec('ALTER TABLE lokerbuku_hold DROP COLUMN notify_state, DROP COLUMN notify_tries,'
            . ' DROP COLUMN notify_next_at');
        $this->db->exec("INSERT INTO lokerbuku_kiosk (kiosk_id, token_sha256, created_at) VALUES ('k-01', '"
            . str_repeat('a', 64) . "', NOW())");
        $this->member('M0012345');
        $this->item('B00012');
        // A PIN version 1 took from the member's OPAC password.
        $this->db->exec("INSERT INTO lokerbuku_member_pin (member_id, pin_hash, updated_at) VALUES ('M0012345',"
            . " 'pbkdf2-sha256\$10000\$00112233445566778899aabbccddeeff\$"
            . str_repeat('0', 64) . "', NOW())");
        require_once mock_plugin_dir() . '/migration/2_LokerbukuKioskUserAndPins.php';
        (new LokerbukuKioskUserAndPins())->up();
        $k = $this->store->kiosk('k-01');
        $this->assertSame([1, 0], [(int) $k['user_id'], (int) $k['auto_checkin']], "the installer's first user");
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_member_pin'));
        $this->assertSame(1, $this->rowsOf("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE"
            . " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'lokerbuku_hold' AND COLUMN_NAME = 'notify_next_at'"));
        // Run again (or on a fresh install): nothing changes.
        (new LokerbukuKioskUserAndPins())->up();
        $this->assertSame(1, (int) $this->store->kiosk('k-01')['user_id']);
    }
}
