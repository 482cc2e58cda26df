<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The staff pages' words: Bahasa Indonesia (the default, in the words
// INLISLite's librarians use) and English, keyed by the English text.

namespace Lokerbuku\Inlislite;

final class StaffText
{
    private const ID = [
        'Kiosk staff' => 'Petugas kios',
        'Staff card number or UID' => 'Nomor kartu atau UID petugas',
        'Role' => 'Peran',
        'staff' => 'petugas',
        'admin' => 'admin',
        'Card' => 'Kartu',
        'Remove' => 'Hapus',
        'Every kiosk (each holds the PIN hash)' => 'Semua kios (masing-masing menyimpan hash PIN)',
        'Change kiosks' => 'Ubah kios',
        "The kiosk's lockers differ from the bridge's record: check at the kiosk" => 'Isi loker kios berbeda dengan catatan jembatan: periksa di kios',
        'Ask for its events again' => 'Minta kejadiannya dikirim ulang',
        'PIN hash iterations' => 'Iterasi hash PIN',
        'Make older staff PIN hashes costlier (600,000 iterations)' => 'Perkuat hash PIN petugas yang lama (600.000 iterasi)',
        '{upgraded} staff PIN hashes made costlier, {kept} kept.' => '{upgraded} hash PIN petugas diperkuat, {kept} tetap.',
        'a card number, or uid: and 4, 7 or 10 bytes of hex' => 'nomor kartu, atau uid: dan 4, 7 atau 10 bita heksadesimal',
        'This card goes to every kiosk: each holds its PIN hash, and a stolen kiosk gives it away. Choose its kiosks.'
            => 'Kartu ini dikirim ke semua kios: masing-masing menyimpan hash PIN-nya, dan kios yang dicuri membocorkannya. Pilih kiosnya.',
        'A staff card goes only to the kiosks chosen, so a stolen kiosk gives away only its own staff\'s PIN hashes; none chosen: every kiosk. Kiosks of firmware before sync v1.1 do not get staff cards of 600,000 iterations: update them.'
            => 'Kartu petugas hanya dikirim ke kios yang dipilih, sehingga kios yang dicuri hanya membocorkan hash PIN petugasnya sendiri; tidak ada yang dipilih: semua kios. Kios dengan firmware sebelum sync v1.1 tidak menerima kartu petugas 600.000 iterasi: perbarui firmware-nya.',
        'Book lockers' => 'Loker Buku',
        'Sign in' => 'Masuk',
        'Sign out' => 'Keluar',
        'User name' => 'Nama pengguna',
        'Password' => 'Kata sandi',
        'Sign in with your INLISLite account.' => 'Masuk dengan akun INLISLite Anda.',
        'Wrong user name or password.' => 'Nama pengguna atau kata sandi salah.',
        'Too many failed sign-ins: wait 15 minutes.' => 'Terlalu banyak percobaan masuk yang gagal: tunggu 15 menit.',
        'The form has expired; please try again.' => 'Formulir sudah kedaluwarsa; silakan ulangi.',
        'Signed in as {name}' => 'Masuk sebagai {name}',
        'Saved.' => 'Tersimpan.',
        'Not done: {why}' => 'Tidak dilakukan: {why}',
        'Request for a member (layanan tertutup)' => 'Permintaan anggota (layanan tertutup)',
        'Member number' => 'Nomor anggota',
        'Item barcodes' => 'Nomor barcode eksemplar',
        'one per line' => 'satu per baris',
        'Kiosk' => 'Kios loker',
        'Size' => 'Ukuran',
        'small' => 'kecil',
        'medium' => 'sedang',
        'large' => 'besar',
        'Send to the locker' => 'Kirim ke loker',
        'Hold {hold} made: staff load it at kiosk {kiosk}.' => 'Reservasi {hold} dibuat: petugas memasukkannya di kios {kiosk}.',
        'OPAC bookings' => 'Pemesanan OPAC',
        'Booking is switched off in INLISLite (IsBookingActivated).' => 'Pemesanan koleksi tidak aktif di INLISLite (IsBookingActivated).',
        'No bookings wait.' => 'Tidak ada pemesanan.',
        'Booked until' => 'Dipesan sampai',
        'Title' => 'Judul',
        'Barcode' => 'Barcode',
        'Member' => 'Anggota',
        'Holds' => 'Reservasi di loker',
        'No holds.' => 'Tidak ada reservasi.',
        'Hold' => 'Reservasi',
        'Locker' => 'Loker',
        'State' => 'Status',
        'Ready since' => 'Siap sejak',
        'Expires' => 'Kedaluwarsa',
        'Patron told' => 'Pemberitahuan',
        'pending' => 'menunggu dimasukkan',
        'loaded' => 'di loker',
        'Cancel' => 'Batalkan',
        'Returns to check in' => 'Pengembalian untuk diproses',
        'Take the books out of the return locker, then check in the barcodes you hold (scanned or typed).' => 'Keluarkan buku dari loker pengembalian, lalu proses barcode buku yang Anda pegang (dipindai atau diketik).',
        'Scanned at the kiosk' => 'Dipindai di kios',
        'Check in' => 'Proses kembali',
        'No returns wait.' => 'Tidak ada pengembalian yang menunggu.',
        '{code}: returned by {member}' => '{code}: dikembalikan oleh {member}',
        '{code}: returned by {member}, {days} days late: a fine or suspension is for staff to decide' => '{code}: dikembalikan oleh {member}, terlambat {days} hari: denda atau skorsing diputuskan petugas',
        'Refused by circulation' => 'Ditolak sirkulasi',
        'Nothing was refused.' => 'Tidak ada penolakan.',
        'Time' => 'Waktu',
        'Event' => 'Kejadian',
        'Outcome' => 'Hasil',
        'Done' => 'Selesai',
        'Kiosks' => 'Kios loker',
        'No kiosks yet.' => 'Belum ada kios.',
        'Online' => 'Daring',
        'Offline' => 'Luring',
        'Last heartbeat' => 'Kabar terakhir',
        'Backlog' => 'Antrean kejadian',
        'Faults' => 'Gangguan',
        'none' => 'tidak ada',
        'Doors' => 'Pintu',
        'open' => 'terbuka',
        'closed' => 'tertutup',
        'disabled' => 'nonaktif',
        'Open locker' => 'Buka loker',
        'Disable locker' => 'Nonaktifkan loker',
        'Enable locker' => 'Aktifkan loker',
        'Sync now' => 'Sinkronkan sekarang',
        'Commands waiting' => 'Perintah menunggu',
        'Hold window (days)' => 'Lama reservasi di loker (hari)',
        'Members must give their PIN' => 'Anggota wajib memasukkan PIN',
        'Opening a locker needs' => 'Untuk membuka loker diperlukan',
        "The card or member number and the member's PIN (recommended)" => 'Kartu atau nomor anggota dan PIN anggota (disarankan)',
        'The card or member number alone: quicker, but a copied card or a printed member number opens too' => 'Kartu atau nomor anggota saja: lebih cepat, tetapi salinan kartu atau nomor anggota yang tercetak juga membuka loker',
        'Save' => 'Simpan',
        'Messages to members' => 'Pesan ke anggota',
        'All messages were sent.' => 'Semua pesan sudah terkirim.',
        'Channel' => 'Saluran',
        'Address' => 'Alamat',
        'Tries' => 'Percobaan',
        'Next try' => 'Percobaan berikut',
        'Why' => 'Sebab',
        'Send now' => 'Kirim sekarang',
        'queued' => 'dalam antrean',
        'sent' => 'terkirim',
        'unreachable' => 'tidak dapat dihubungi',
        'expired' => 'kedaluwarsa',
        'Add a kiosk' => 'Tambah kios',
        'Kiosk ID' => 'ID kios',
        'Name' => 'Nama',
        'Add' => 'Tambah',
        'New token for kiosk {kiosk} (shown once, put it in the kiosk\'s token file):' => 'Token baru untuk kios {kiosk} (ditampilkan sekali, simpan di berkas token kios):',
        'New token' => 'Token baru',
        'Member kiosk PIN' => 'PIN kios anggota',
        'PIN (6 to 8 digits)' => 'PIN (6 sampai 8 angka)',
        'Set PIN' => 'Simpan PIN',
        'Remove PIN' => 'Hapus PIN',
        'The kiosk PIN is the member\'s own for the lockers, never their INLISLite password.' => 'PIN kios hanya untuk loker, bukan kata sandi INLISLite anggota.',
        'Enrol an NFC card' => 'Daftarkan kartu NFC',
        'Card UID (hex)' => 'UID kartu (heksadesimal)',
        'Enrol' => 'Daftarkan',
        'no member {no} in INLISLite' => 'anggota {no} tidak ada di INLISLite',
        'database error (see the log)' => 'galat basis data (lihat log)',
    ];

    /** The shared code's reason codes (Outcome), as staff read them. */
    private const REASONS = [
        'member_unknown' => ['member unknown', 'anggota tidak dikenal'],
        'member_expired' => ['membership expired', 'masa keanggotaan habis'],
        'member_pending' => ['member not active yet', 'anggota belum aktif'],
        'member_blocked' => ['member blocked (inactive or suspended)', 'anggota diblokir (nonaktif atau suspend)'],
        'item_unknown' => ['item unknown', 'eksemplar tidak dikenal'],
        'item_already_lent' => ['item already on loan', 'eksemplar sedang dipinjam'],
        'item_no_loan' => ['item may not be lent', 'eksemplar tidak dapat dipinjam'],
        'item_reserved_by_other' => ['reserved for another member', 'dipesan anggota lain'],
        'loan_limit_reached' => ['loan limit reached', 'batas jumlah pinjaman tercapai'],
        'not_in_hold' => ['not in this hold', 'bukan bagian dari reservasi ini'],
        'no_staff_user' => ['the kiosk has no INLISLite user', 'kios belum punya pengguna INLISLite'],
        'not_on_loan' => ['not on loan', 'tidak sedang dipinjam'],
        'no_outcome' => ['no outcome from INLISLite', 'tidak ada hasil dari INLISLite'],
        // INLISLite's own checks (Circulation).
        'member_suspended' => ['member suspended (a violation)', 'anggota sedang diskors (pelanggaran)'],
        'member_not_allowed_at_site' => ['member may not borrow at this site', 'anggota tidak berhak meminjam di lokasi ini'],
        'member_has_overdue_loans' => ['member has overdue loans', 'anggota masih punya pinjaman lewat jatuh tempo'],
        'staff_not_allowed_at_site' => ["the kiosk's INLISLite user may not lend at this site", 'pengguna INLISLite kios tidak berhak meminjamkan di lokasi ini'],
        'item_category_not_allowed' => ['item category not allowed for the member', 'kategori eksemplar tidak diizinkan untuk anggota'],
        'item_not_available' => ['item not available', 'eksemplar tidak tersedia'],
        'item_category_not_lent_today' => ['item category not lent today', 'kategori eksemplar tidak dipinjamkan hari ini'],
    ];

    /** An event's outcome with each reason code put in words. */
    public function reasons(string $outcome): string
    {
        return preg_replace_callback('/\b[a-z_]+\b/', fn($m) => isset(self::REASONS[$m[0]])
            ? self::REASONS[$m[0]][$this->lang === 'id' ? 1 : 0] : $m[0], $outcome);
    }

    public function __construct(private string $lang = 'id')
    {
    }

    public function lang(): string
    {
        return $this->lang;
    }

    /** $s in the page's language, {names} filled from $vars. */
    public function t(string $s, array $vars = []): string
    {
        $out = $this->lang === 'id' ? (self::ID[$s] ?? $s) : $s;
        foreach ($vars as $k => $v) {
            $out = str_replace('{' . $k . '}', (string) $v, $out);
        }
        return $out;
    }
}
