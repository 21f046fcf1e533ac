trigger ConsentChangeTrigger on Consent_Change__e (after insert) {
    ConsentChangeSubscriber.handle(Trigger.new);
}
