// SPDX-License-Identifier: GPL-2.0-or-later
/* The emulated PN532: command semantics, register file and the card. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"

/* Command codes (PN532 user manual UM0701-02, chapter 7). */
enum cmd {
	CMD_DIAGNOSE = 0x00,
	CMD_GET_FIRMWARE_VERSION = 0x02,
	CMD_GET_GENERAL_STATUS = 0x04,
	CMD_READ_REGISTER = 0x06,
	CMD_WRITE_REGISTER = 0x08,
	CMD_READ_GPIO = 0x0C,
	CMD_WRITE_GPIO = 0x0E,
	CMD_SET_SERIAL_BAUD_RATE = 0x10,
	CMD_SET_PARAMETERS = 0x12,
	CMD_SAM_CONFIGURATION = 0x14,
	CMD_POWER_DOWN = 0x16,
	CMD_RF_CONFIGURATION = 0x32,
	CMD_IN_DATA_EXCHANGE = 0x40,
	CMD_IN_COMMUNICATE_THRU = 0x42,
	CMD_IN_DESELECT = 0x44,
	CMD_IN_JUMP_FOR_PSL = 0x46,
	CMD_IN_LIST_PASSIVE_TARGET = 0x4A,
	CMD_IN_PSL = 0x4E,
	CMD_IN_ATR = 0x50,
	CMD_IN_RELEASE = 0x52,
	CMD_IN_SELECT = 0x54,
	CMD_IN_JUMP_FOR_DEP = 0x56,
	CMD_RF_REGULATION_TEST = 0x58,
	CMD_IN_AUTO_POLL = 0x60,
	CMD_TG_GET_DATA = 0x86,
	CMD_TG_GET_INITIATOR_COMMAND = 0x88,
	CMD_TG_GET_TARGET_STATUS = 0x8A,
	CMD_TG_INIT_AS_TARGET = 0x8C,
	CMD_TG_SET_DATA = 0x8E,
	CMD_TG_RESPONSE_TO_INITIATOR = 0x90,
	CMD_TG_SET_GENERAL_BYTES = 0x92,
	CMD_TG_SET_META_DATA = 0x94,
};

/* Status bytes of In* replies (UM0701-02, table "Error code list"). */
#define STATUS_OK      0x00
#define STATUS_TIMEOUT 0x01 /* the target did not answer */
#define STATUS_CONTEXT 0x27 /* not acceptable in the current context */

/* GetFirmwareVersion of a PN532 v1.6: IC, version, revision, support. */
#define FW_IC	   0x32
#define FW_VER	   0x01
#define FW_REV	   0x06
#define FW_SUPPORT 0x07 /* ISO 14443 A, ISO 14443 B, ISO 18092 */

/* InListPassiveTarget BrTy values a PN532 knows (0x05-0x08: PN533 only). */
#define BRTY_ISO14443A_106 0x00
#define BRTY_MAX	   0x04

/* InAutoPoll target types a MIFARE-like card answers to. */
#define PTT_GENERIC_PASSIVE_106 0x00
#define PTT_MIFARE		0x10
/* InAutoPoll Period is in units of 150 ms; PollNr 0xFF polls forever. */
#define AUTOPOLL_PERIOD_USEC 150000u
#define AUTOPOLL_PERIOD_MAX  15
#define AUTOPOLL_FOREVER     0xFF
#define AUTOPOLL_TYPES_MAX   15

/* RFConfiguration items. */
#define RFCI_FIELD	  0x01
#define RFCI_TIMING	  0x02
#define RFCI_RETRY_DATA	  0x04
#define RFCI_RETRY_SELECT 0x05
/* MxRtyPassiveActivation 0xFF: retry activation until a card comes. */
#define RETRY_FOREVER 0xFF

/*
 * ISO/IEC 14443-3 activation (REQA, anticollision and select per cascade
 * level) measured on air: 2.5 ms for one cascade level, 4.6 ms for two;
 * a third level costs about as much again as the second.
 */
static const uint32_t activation_usec[] = { 2500, 4600, 6700 };
/* One byte with parity at 106 kbit/s is 9 bits of 9.44 us. */
#define AIR_BYTE_USEC 85
/* Frame delay time between the reader's frame and the card's answer. */
#define AIR_TURNAROUND_USEC 90
#define CRC_SIZE	    2

/* The registers libnfc touches: the CIU at 63xx and the SFRs at FFxx. */
#define REG_PAGE_CIU 0x63
#define REG_PAGE_SFR 0xFF

/* A MIFARE Ultralight/NTAG READ returns 4 pages of 4 bytes. */
#define CARD_READ	0x30
#define CARD_HALT	0x50
#define CARD_READ_SIZE	16
#define CARD_IMAGE_SIZE 64 /* pages 0-15; beyond reads as zeros */
#define CASCADE_TAG	0x88

struct card {
	uint8_t uid[CHIP_UID_MAX];
	size_t size; /* 0: no card */
};

struct chip {
	enum chip_power power;
	bool field_on;
	uint8_t parameters;
	uint8_t retry_passive; /* MxRtyPassiveActivation */
	uint8_t reg_ciu[256];
	uint8_t reg_sfr[256];
	struct card card;   /* on the reader */
	struct card target; /* activated as Tg 1; size 0: none */
	/* The command answered with CHIP_VERDICT_WAIT, if any. */
	uint8_t waiting[FRAME_DATA_MAX];
	size_t waiting_size;
};

static const struct {
	uint8_t code;
	const char *name;
} command_names[] = {
	{ CMD_DIAGNOSE, "Diagnose" },
	{ CMD_GET_FIRMWARE_VERSION, "GetFirmwareVersion" },
	{ CMD_GET_GENERAL_STATUS, "GetGeneralStatus" },
	{ CMD_READ_REGISTER, "ReadRegister" },
	{ CMD_WRITE_REGISTER, "WriteRegister" },
	{ CMD_READ_GPIO, "ReadGPIO" },
	{ CMD_WRITE_GPIO, "WriteGPIO" },
	{ CMD_SET_SERIAL_BAUD_RATE, "SetSerialBaudRate" },
	{ CMD_SET_PARAMETERS, "SetParameters" },
	{ CMD_SAM_CONFIGURATION, "SAMConfiguration" },
	{ CMD_POWER_DOWN, "PowerDown" },
	{ CMD_RF_CONFIGURATION, "RFConfiguration" },
	{ CMD_IN_DATA_EXCHANGE, "InDataExchange" },
	{ CMD_IN_COMMUNICATE_THRU, "InCommunicateThru" },
	{ CMD_IN_DESELECT, "InDeselect" },
	{ CMD_IN_JUMP_FOR_PSL, "InJumpForPSL" },
	{ CMD_IN_LIST_PASSIVE_TARGET, "InListPassiveTarget" },
	{ CMD_IN_PSL, "InPSL" },
	{ CMD_IN_ATR, "InATR" },
	{ CMD_IN_RELEASE, "InRelease" },
	{ CMD_IN_SELECT, "InSelect" },
	{ CMD_IN_JUMP_FOR_DEP, "InJumpForDEP" },
	{ CMD_RF_REGULATION_TEST, "RFRegulationTest" },
	{ CMD_IN_AUTO_POLL, "InAutoPoll" },
	{ CMD_TG_GET_DATA, "TgGetData" },
	{ CMD_TG_GET_INITIATOR_COMMAND, "TgGetInitiatorCommand" },
	{ CMD_TG_GET_TARGET_STATUS, "TgGetTargetStatus" },
	{ CMD_TG_INIT_AS_TARGET, "TgInitAsTarget" },
	{ CMD_TG_SET_DATA, "TgSetData" },
	{ CMD_TG_RESPONSE_TO_INITIATOR, "TgResponseToInitiator" },
	{ CMD_TG_SET_GENERAL_BYTES, "TgSetGeneralBytes" },
	{ CMD_TG_SET_META_DATA, "TgSetMetaData" },
};

const char *chip_command_name(uint8_t code)
{
	size_t i;

	for (i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
		if (command_names[i].code == code)
			return command_names[i].name;
	return NULL;
}

struct chip *chip_new(void)
{
	struct chip *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->power = CHIP_POWER_LOW_VBAT;
	/* The manual's reset value: activation is retried forever. */
	c->retry_passive = RETRY_FOREVER;
	return c;
}

void chip_free(struct chip *c)
{
	free(c);
}

int chip_place_card(struct chip *c, const uint8_t *uid, size_t size)
{
	if (size != 4 && size != 7 && size != 10)
		return -EINVAL;
	/* 0x88 announces another cascade level; no UID can start with it. */
	if (uid[0] == CASCADE_TAG)
		return -EINVAL;
	memcpy(c->card.uid, uid, size);
	c->card.size = size;
	return 0;
}

void chip_remove_card(struct chip *c)
{
	c->card.size = 0;
}

size_t chip_get_card(const struct chip *c, uint8_t ret_uid[CHIP_UID_MAX])
{
	memcpy(ret_uid, c->card.uid, c->card.size);
	return c->card.size;
}

enum chip_power chip_get_power(const struct chip *c)
{
	return c->power;
}

void chip_wake(struct chip *c)
{
	c->power = CHIP_POWER_NORMAL;
}

bool chip_field_is_on(const struct chip *c)
{
	return c->field_on;
}

bool chip_is_waiting(const struct chip *c)
{
	return c->waiting_size > 0;
}

const char *chip_get_waiting_name(const struct chip *c)
{
	return c->waiting_size ? chip_command_name(c->waiting[0]) : NULL;
}

void chip_abort(struct chip *c)
{
	c->waiting_size = 0;
}

static bool same_card(const struct card *a, const struct card *b)
{
	return a->size == b->size && memcmp(a->uid, b->uid, a->size) == 0;
}

/* The activated target still answers: it is the card on the reader. */
static bool target_answers(const struct chip *c)
{
	return c->target.size > 0 && same_card(&c->target, &c->card);
}

/* 4-byte UIDs: MIFARE Classic 1K; 7 bytes: NTAG/Ultralight. */
static void card_type(const struct card *card, uint8_t ret_atqa[2],
		      uint8_t *ret_sak)
{
	ret_atqa[0] = 0x00;
	switch (card->size) {
	case 4:
		ret_atqa[1] = 0x04;
		*ret_sak = 0x08;
		break;
	case 7:
		ret_atqa[1] = 0x44;
		*ret_sak = 0x00;
		break;
	default:
		/*
		 * Triple size: ATQA says so; SAK 08 so that libnfc's presence
		 * check (a re-select) works instead of "not supported".
		 */
		ret_atqa[1] = 0x84;
		*ret_sak = 0x08;
		break;
	}
}

static uint32_t card_activation_usec(const struct card *card)
{
	return activation_usec[card->size == 4 ? 0 : card->size == 7 ? 1 : 2];
}

/* Appends Tg, SENS_RES, SEL_RES, NFCIDLength, NFCID1: the target data. */
static size_t put_target_data(const struct card *card, uint8_t *out)
{
	uint8_t atqa[2], sak;
	size_t n = 0;

	card_type(card, atqa, &sak);
	out[n++] = 0x01; /* Tg */
	out[n++] = atqa[0];
	out[n++] = atqa[1];
	out[n++] = sak;
	out[n++] = (uint8_t)card->size;
	memcpy(out + n, card->uid, card->size);
	return n + card->size;
}

/*
 * Does InListPassiveTarget's InitiatorData pick this card? Hosts give the
 * UID as the card's cascade levels (libnfc: 88 u0..u6 for 7 bytes) or plain.
 */
static bool initiator_data_matches(const struct card *card, const uint8_t *d,
				   size_t size)
{
	uint8_t cascaded[12];
	size_t n = 0;

	if (size == 0)
		return true;
	if (size == card->size && memcmp(d, card->uid, size) == 0)
		return true;
	switch (card->size) {
	case 4:
		memcpy(cascaded, card->uid, 4);
		n = 4;
		break;
	case 7:
		cascaded[0] = CASCADE_TAG;
		memcpy(cascaded + 1, card->uid, 7);
		n = 8;
		break;
	default:
		cascaded[0] = CASCADE_TAG;
		memcpy(cascaded + 1, card->uid, 3);
		cascaded[4] = CASCADE_TAG;
		memcpy(cascaded + 5, card->uid + 3, 7);
		n = 12;
		break;
	}
	return size == n && memcmp(d, cascaded, n) == 0;
}

/* What a READ of page/block addr returns: UID, BCCs, a blank NDEF area. */
static void card_read(const struct card *card, uint8_t addr, uint8_t *out)
{
	uint8_t image[CARD_IMAGE_SIZE] = { 0 };
	const uint8_t *u = card->uid;
	uint8_t atqa[2], sak;
	size_t i;

	card_type(card, atqa, &sak);
	if (card->size == 4) {
		/* MIFARE Classic manufacturer block. */
		memcpy(image, u, 4);
		image[4] = u[0] ^ u[1] ^ u[2] ^ u[3];
		image[5] = sak;
		image[6] = atqa[1];
		image[7] = atqa[0];
	} else {
		/* Ultralight/NTAG pages 0-3: UID with check bytes, then CC. */
		image[0] = u[0];
		image[1] = u[1];
		image[2] = u[2];
		image[3] = CASCADE_TAG ^ u[0] ^ u[1] ^ u[2];
		memcpy(image + 4, u + 3, 4);
		image[8] = u[3] ^ u[4] ^ u[5] ^ u[6];
		image[9] = 0x48;
		image[12] = 0xE1; /* NDEF capability container */
		image[13] = 0x10;
		image[14] = 0x12;
	}
	for (i = 0; i < CARD_READ_SIZE; i++) {
		size_t at = (size_t)addr * 4 + i;

		out[i] = at < sizeof(image) ? image[at] : 0;
	}
}

static uint32_t air_exchange_usec(size_t tx, size_t rx)
{
	return (uint32_t)(tx + CRC_SIZE + rx + CRC_SIZE) * AIR_BYTE_USEC +
	       AIR_TURNAROUND_USEC;
}

static void reply_byte(struct chip_reply *r, uint8_t b)
{
	if (r->size < sizeof(r->data))
		r->data[r->size++] = b;
}

static void refuse(struct chip_reply *r, enum chip_verdict v, const char *why)
{
	r->verdict = v;
	r->size = 0;
	r->why = why;
}

/*
 * The card's answer to data sent to it through the PN532: a READ returns
 * 16 bytes, HLTA halts it (no answer), anything else (presence checks)
 * succeeds with no data. Returns false when the card does not answer.
 */
static bool card_exchange(struct chip *c, const uint8_t *d, size_t size,
			  struct chip_reply *r)
{
	if (!target_answers(c) || size == 0)
		return false;
	if (d[0] == CARD_HALT) {
		c->target.size = 0;
		return false;
	}
	reply_byte(r, STATUS_OK);
	if (d[0] == CARD_READ && size >= 2) {
		card_read(&c->card, d[1], r->data + r->size);
		r->size += CARD_READ_SIZE;
	}
	r->air_usec = air_exchange_usec(size, r->size - 2);
	return true;
}

static void do_diagnose(struct chip *c, const uint8_t *cmd, size_t size,
			struct chip_reply *r)
{
	if (size < 2) {
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR, "Diagnose without a test");
		return;
	}
	switch (cmd[1]) {
	case 0x00: /* communication line test: echo everything after NumTst */
		memcpy(r->data + r->size, cmd + 1, size - 1);
		r->size += size - 1;
		break;
	case 0x01: /* ROM test */
	case 0x02: /* RAM test */
		reply_byte(r, STATUS_OK);
		break;
	case 0x06: /* card presence */
		reply_byte(r, target_answers(c) ? STATUS_OK : STATUS_TIMEOUT);
		break;
	default:
		refuse(r, CHIP_VERDICT_UNSUPPORTED,
		       "Diagnose test other than 00, 01, 02, 06");
		break;
	}
}

static void do_get_general_status(struct chip *c, struct chip_reply *r)
{
	reply_byte(r, 0x00); /* last error */
	reply_byte(r, c->field_on);
	reply_byte(r, c->target.size > 0);
	if (c->target.size > 0) {
		reply_byte(r, 0x01); /* Tg */
		reply_byte(r, 0x00); /* BrRx: 106 kbps */
		reply_byte(r, 0x00); /* BrTx */
		reply_byte(r, 0x00); /* modulation: MIFARE / ISO 14443 */
	}
	reply_byte(r, 0x00); /* SAM status */
}

static uint8_t *reg_at(struct chip *c, uint8_t hi, uint8_t lo)
{
	if (hi == REG_PAGE_CIU)
		return &c->reg_ciu[lo];
	if (hi == REG_PAGE_SFR)
		return &c->reg_sfr[lo];
	return NULL;
}

static void do_read_register(struct chip *c, const uint8_t *cmd, size_t size,
			     struct chip_reply *r)
{
	size_t i;

	if (size < 3 || (size - 1) % 2 != 0) {
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
		       "ReadRegister needs 16-bit addresses");
		return;
	}
	for (i = 1; i + 1 < size; i += 2) {
		uint8_t *reg = reg_at(c, cmd[i], cmd[i + 1]);

		/* Other addresses read as 0: nothing libnfc relies on. */
		reply_byte(r, reg ? *reg : 0x00);
	}
}

static void do_write_register(struct chip *c, const uint8_t *cmd, size_t size,
			      struct chip_reply *r)
{
	size_t i;

	if (size < 4 || (size - 1) % 3 != 0) {
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
		       "WriteRegister needs address and value triples");
		return;
	}
	for (i = 1; i + 2 < size; i += 3) {
		uint8_t *reg = reg_at(c, cmd[i], cmd[i + 1]);

		if (reg)
			*reg = cmd[i + 2];
	}
}

static void do_rf_configuration(struct chip *c, const uint8_t *cmd, size_t size,
				struct chip_reply *r)
{
	size_t want;

	if (size < 2) {
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
		       "RFConfiguration without an item");
		return;
	}
	switch (cmd[1]) {
	case RFCI_FIELD:
	case RFCI_RETRY_DATA:
		want = 1;
		break;
	case RFCI_TIMING:
	case RFCI_RETRY_SELECT:
		want = 3;
		break;
	case 0x0A: /* analog settings: accepted, not modelled */
	case 0x0B:
	case 0x0C:
	case 0x0D:
		return;
	default:
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
		       "RFConfiguration item unknown");
		return;
	}
	if (size - 2 != want) {
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
		       "RFConfiguration item of the wrong size");
		return;
	}
	if (cmd[1] == RFCI_FIELD)
		c->field_on = cmd[2] & 0x01;
	else if (cmd[1] == RFCI_RETRY_SELECT)
		c->retry_passive = cmd[4];
}

/* Fills r when a card is found; false when it is not (yet). */
static bool list_passive_target(struct chip *c, const uint8_t *cmd, size_t size,
				struct chip_reply *r)
{
	/* Only type A cards are emulated; B, FeliCa and Jewel never answer. */
	if (cmd[2] != BRTY_ISO14443A_106 || c->card.size == 0 ||
	    !initiator_data_matches(&c->card, cmd + 3, size - 3))
		return false;
	c->target = c->card;
	reply_byte(r, 0x01); /* NbTg */
	r->size += put_target_data(&c->card, r->data + r->size);
	r->air_usec = card_activation_usec(&c->card);
	return true;
}

static void do_in_list_passive_target(struct chip *c, const uint8_t *cmd,
				      size_t size, struct chip_reply *r)
{
	if (size < 3 || cmd[1] < 1 || cmd[1] > 2 || cmd[2] > BRTY_MAX) {
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
		       "InListPassiveTarget needs MaxTg 1-2 and BrTy 0-4");
		return;
	}
	/* A new listing replaces the targets of the last one. */
	c->target.size = 0;
	if (list_passive_target(c, cmd, size, r))
		return;
	/*
	 * With finite retries the chip gives up and says NbTg = 0 (what
	 * libnfc's list_passive_targets sets up). Retrying forever (the
	 * reset value, and libnfc's select_passive_target after
	 * nfc_initiator_init) it stays silent until a card comes or the
	 * host aborts; libnfc then times out after 300 ms.
	 */
	if (c->retry_passive == RETRY_FOREVER) {
		r->verdict = CHIP_VERDICT_WAIT;
		r->wait_usec = 0;
		return;
	}
	reply_byte(r, 0x00);
}

static bool auto_poll(struct chip *c, const uint8_t *cmd, size_t size,
		      struct chip_reply *r)
{
	size_t i;

	if (c->card.size == 0)
		return false;
	for (i = 3; i < size; i++) {
		size_t len_at;

		if (cmd[i] != PTT_GENERIC_PASSIVE_106 && cmd[i] != PTT_MIFARE)
			continue;
		c->target = c->card;
		reply_byte(r, 0x01);	   /* NbTg */
		reply_byte(r, PTT_MIFARE); /* Type1 */
		len_at = r->size++;	   /* AutoPollTargetData length */
		r->size += put_target_data(&c->card, r->data + r->size);
		r->data[len_at] = (uint8_t)(r->size - len_at - 1);
		r->air_usec = card_activation_usec(&c->card);
		return true;
	}
	return false;
}

static void do_in_auto_poll(struct chip *c, const uint8_t *cmd, size_t size,
			    struct chip_reply *r)
{
	size_t types = size > 3 ? size - 3 : 0;

	if (types < 1 || types > AUTOPOLL_TYPES_MAX || cmd[1] == 0 ||
	    cmd[2] < 1 || cmd[2] > AUTOPOLL_PERIOD_MAX) {
		refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
		       "InAutoPoll needs PollNr, Period 1-15 and 1-15 types");
		return;
	}
	c->target.size = 0;
	if (auto_poll(c, cmd, size, r))
		return;
	/* It polls each type for Period x 150 ms, PollNr times over. */
	r->verdict = CHIP_VERDICT_WAIT;
	if (cmd[1] != AUTOPOLL_FOREVER)
		r->wait_usec = (uint64_t)cmd[1] * types * cmd[2] *
			       AUTOPOLL_PERIOD_USEC;
}

/* Runs one command whose reply code is already in r. */
static void dispatch(struct chip *c, const uint8_t *cmd, size_t size,
		     struct chip_reply *r)
{
	switch (cmd[0]) {
	case CMD_DIAGNOSE:
		do_diagnose(c, cmd, size, r);
		break;
	case CMD_GET_FIRMWARE_VERSION:
		reply_byte(r, FW_IC);
		reply_byte(r, FW_VER);
		reply_byte(r, FW_REV);
		reply_byte(r, FW_SUPPORT);
		break;
	case CMD_GET_GENERAL_STATUS:
		do_get_general_status(c, r);
		break;
	case CMD_READ_REGISTER:
		do_read_register(c, cmd, size, r);
		break;
	case CMD_WRITE_REGISTER:
		do_write_register(c, cmd, size, r);
		break;
	case CMD_SET_PARAMETERS:
		if (size != 2) {
			refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
			       "SetParameters needs one flags byte");
			break;
		}
		c->parameters = cmd[1];
		break;
	case CMD_SAM_CONFIGURATION:
		if (size < 2 || size > 4 || cmd[1] < 1 || cmd[1] > 4) {
			refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
			       "SAMConfiguration needs mode 1-4");
			break;
		}
		break;
	case CMD_POWER_DOWN:
		if (size < 2 || size > 3) {
			refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
			       "PowerDown needs WakeUpEnable");
			break;
		}
		reply_byte(r, STATUS_OK);
		/* Asleep once this reply is out; targets and field go. */
		c->power = CHIP_POWER_DOWN;
		c->field_on = false;
		c->target.size = 0;
		break;
	case CMD_RF_CONFIGURATION:
		do_rf_configuration(c, cmd, size, r);
		break;
	case CMD_IN_DATA_EXCHANGE:
		if (size < 2) {
			refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
			       "InDataExchange without Tg");
			break;
		}
		if ((cmd[1] & 0x3F) != 0x01 || c->target.size == 0) {
			reply_byte(r, STATUS_CONTEXT);
			break;
		}
		if (!card_exchange(c, cmd + 2, size - 2, r))
			reply_byte(r, STATUS_TIMEOUT);
		break;
	case CMD_IN_COMMUNICATE_THRU:
		/*
		 * Raw frames: only a READ gets an answer from our cards; the
		 * type B, ST SRx, ASK CTx, iClass and barcode probes libnfc
		 * sends this way time out, as they do with a real type A card.
		 */
		if (size >= 3 && cmd[1] == CARD_READ &&
		    card_exchange(c, cmd + 1, size - 1, r))
			break;
		reply_byte(r, STATUS_TIMEOUT);
		break;
	case CMD_IN_DESELECT:
		if (size != 2) {
			refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
			       "InDeselect needs Tg");
			break;
		}
		/* The target stays known: InDataExchange reselects it. */
		reply_byte(r, STATUS_OK);
		break;
	case CMD_IN_RELEASE:
		if (size != 2) {
			refuse(r, CHIP_VERDICT_SYNTAX_ERROR,
			       "InRelease needs Tg");
			break;
		}
		c->target.size = 0;
		reply_byte(r, STATUS_OK);
		break;
	case CMD_IN_LIST_PASSIVE_TARGET:
		do_in_list_passive_target(c, cmd, size, r);
		break;
	case CMD_IN_AUTO_POLL:
		do_in_auto_poll(c, cmd, size, r);
		break;
	default:
		refuse(r, CHIP_VERDICT_UNSUPPORTED,
		       chip_command_name(cmd[0]) ? "not emulated" :
						   "not a PN532 command");
		break;
	}
}

void chip_command(struct chip *c, const uint8_t *cmd, size_t size,
		  struct chip_reply *ret)
{
	memset(ret, 0, sizeof(*ret));
	/* A new command ends the one still running, as on the chip. */
	c->waiting_size = 0;
	c->power = CHIP_POWER_NORMAL;
	if (size == 0) {
		refuse(ret, CHIP_VERDICT_SYNTAX_ERROR, "no command code");
		return;
	}
	ret->verdict = CHIP_VERDICT_REPLY;
	reply_byte(ret, cmd[0] + 1);
	dispatch(c, cmd, size, ret);
	if (ret->verdict == CHIP_VERDICT_WAIT) {
		memcpy(c->waiting, cmd, size);
		c->waiting_size = size;
	}
}

int chip_resume(struct chip *c, struct chip_reply *ret)
{
	const uint8_t *cmd = c->waiting;
	size_t size = c->waiting_size;
	bool found;

	if (size == 0)
		return -EAGAIN;
	memset(ret, 0, sizeof(*ret));
	ret->verdict = CHIP_VERDICT_REPLY;
	reply_byte(ret, cmd[0] + 1);
	if (cmd[0] == CMD_IN_AUTO_POLL)
		found = auto_poll(c, cmd, size, ret);
	else
		found = list_passive_target(c, cmd, size, ret);
	if (!found)
		return -EAGAIN;
	c->waiting_size = 0;
	return 0;
}

void chip_expire(struct chip *c, struct chip_reply *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->verdict = CHIP_VERDICT_REPLY;
	if (c->waiting_size > 0) {
		reply_byte(ret, c->waiting[0] + 1);
		reply_byte(ret, 0x00); /* NbTg */
	}
	c->waiting_size = 0;
}
