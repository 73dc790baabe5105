-- A clinic's own senders: the Twilio number or Messaging Service it texts
-- from, and the address its emails come from. Empty: the server's
-- configured sender (TWILIO_FROM / TWILIO_MESSAGING_SERVICE_SID, SMTP_FROM).
ALTER TABLE clinics ADD COLUMN sms_from TEXT NOT NULL DEFAULT '';
ALTER TABLE clinics ADD COLUMN email_from TEXT NOT NULL DEFAULT '';
