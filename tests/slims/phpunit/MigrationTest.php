<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The plugin's migration, as SLiMS runs it when the plugin is activated.

final class MigrationTest extends SlimsTestCase
{
    public function test_creates_every_table_as_innodb(): void
    {
        foreach (array_keys(\Lokerbuku\Slims\Schema::TABLES) as $t) {
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
        \Lokerbuku\Slims\Schema::create($this->db);
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
}
