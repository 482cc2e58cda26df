<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// INLISLite 3.0-3.2's audit trail, `modelhistory`, as its Yii models write
// it (the ActiveRecord history behaviour with its database manager: facts
// in ../shared/reference/inlislite.md, section 4): after an insert one
// row naming the primary key (type 0); after an update one row per column
// whose value changed, with the old and the new value (type 1); `date` in
// the library's local time, `user_id` the staff user. 3.3 (CodeIgniter)
// keeps no such trail, so nothing is written there.

namespace Lokerbuku\Inlislite;

final class ModelHistory
{
    private const INSERT = 0;
    private const UPDATE = 1;

    /** Columns of type bit(1) among those the bridge sets: read as numbers. */
    private const BITS = ['IsVerified'];

    /** $now: the library's local time, 'Y-m-d H:i:s'. */
    public function __construct(private \PDO $db, private bool $on, private \Closure $now)
    {
    }

    /** A row of $table with primary key ID = $id was inserted by $userId. */
    public function inserted(string $table, string $id, int $userId): void
    {
        if ($this->on) {
            $this->write($table, 'ID', $id, null, null, self::INSERT, $userId);
        }
    }

    /**
     * Updates the row of $table with ID = $id to $set (column => value;
     * names from the bridge's code, never from input) and records each
     * column that changed. The row is locked until the transaction ends.
     */
    public function update(string $table, string $id, array $set, int $userId): void
    {
        $cols = array_keys($set);
        $old = [];
        if ($this->on) {
            $st = $this->db->prepare('SELECT ' . implode(', ', array_map(
                fn(string $c): string => in_array($c, self::BITS, true) ? "CAST($c AS UNSIGNED) AS $c" : $c, $cols))
                . " FROM $table WHERE ID = ? FOR UPDATE");
            $st->execute([$id]);
            $old = $st->fetch(\PDO::FETCH_ASSOC) ?: [];
        }
        // A bit(1) column takes a number, not the text PDO sends.
        $this->db->prepare("UPDATE $table SET " . implode(', ', array_map(fn(string $c): string
            => in_array($c, self::BITS, true) ? "$c = CAST(? AS UNSIGNED)" : "$c = ?", $cols))
            . ' WHERE ID = ?')->execute([...array_values($set), $id]);
        if (!$this->on || !$old) {
            return;
        }
        foreach ($set as $col => $new) {
            $was = $old[$col];
            if (($was === null) !== ($new === null) || (string) $was !== (string) $new) {
                $this->write($table, $col, $id, $was === null ? null : (string) $was,
                    $new === null ? null : (string) $new, self::UPDATE, $userId);
            }
        }
    }

    private function write(string $table, string $field, string $id, ?string $old, ?string $new, int $type,
        int $userId): void
    {
        $this->db->prepare('INSERT INTO modelhistory (date, `table`, field_name, field_id, old_value, new_value,'
            . ' type, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
            ->execute([($this->now)(), $table, $field, $id, $old, $new, $type, (string) $userId]);
    }
}
