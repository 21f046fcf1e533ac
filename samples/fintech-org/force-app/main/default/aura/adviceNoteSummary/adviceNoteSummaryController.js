({
    doInit: function (component, event, helper) {
        var load = component.get("c.getClientNotes");
        load.setParams({ contactId: component.get("v.recordId") });
        load.setCallback(this, function (response) {
            if (response.getState() === "SUCCESS") {
                component.set("v.client", response.getReturnValue());
            } else {
                helper.showError(component, response.getError());
            }
        });
        $A.enqueueAction(load);
    },

    handleSummarize: function (component, event, helper) {
        helper.summarize(component);
    },

    handleTranslate: function (component, event, helper) {
        helper.translate(component, "de");
    }
})
