trigger PortfolioTrigger on Portfolio__c (after insert, after update) {
    new PortfolioTriggerHandler().run();
}
