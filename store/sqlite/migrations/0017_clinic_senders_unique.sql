-- 0017: a clinic's own senders (sms_from, email_from) belong to it alone.
-- Before this, a clinic admin could set another clinic's number or
-- address as its own, and its texts went out as that clinic. Senders shared by several clinics are cleared on all of them (they go
-- back to the server's TWILIO_FROM / SMTP_FROM): which clinic owns one is
-- the operator's to say again, with `aftercare clinic set --sms-from`.
UPDATE clinics SET sms_from = '' WHERE sms_from <> ''
	AND sms_from IN (SELECT sms_from FROM clinics WHERE sms_from <> '' GROUP BY sms_from HAVING count(*) > 1);
UPDATE clinics SET email_from = '' WHERE email_from <> ''
	AND email_from IN (SELECT email_from FROM clinics WHERE email_from <> '' GROUP BY email_from HAVING count(*) > 1);
CREATE UNIQUE INDEX clinics_sms_from ON clinics (sms_from) WHERE sms_from <> '';
CREATE UNIQUE INDEX clinics_email_from ON clinics (email_from) WHERE email_from <> '';
