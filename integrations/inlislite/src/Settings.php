<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// INLISLite's settings (table settingparameters: Name, Value), read once
// per request.

namespace Lokerbuku\Inlislite;

final class Settings
{
    /** @var array<string, string>|null */
    private ?array $values = null;

    public function __construct(private \PDO $db)
    {
    }

    public function get(string $name): ?string
    {
        if ($this->values === null) {
            $this->values = [];
            foreach ($this->db->query('SELECT Name, Value FROM settingparameters') as $r) {
                // The first row of a name wins, as a lookup by name finds it.
                $this->values[$r['Name']] ??= trim((string) $r['Value']);
            }
        }
        return $this->values[$name] ?? null;
    }

    /** 'True'/'TRUE'/'1' as INLISLite writes a switched-on setting. */
    public function isTrue(string $name): bool
    {
        $v = strtolower((string) $this->get($name));
        return $v === 'true' || $v === '1';
    }
}
